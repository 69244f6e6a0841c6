-- doctor_unserved_queues: queues, neither paused nor switched off (`process:<queue>`), with jobs
-- ready for more than $1 seconds while nothing of theirs runs, started or finished in that time:
-- no worker claims from them. Succeeded jobs are found through job_finishes (decision 088), the
-- others through job_history_unsucceeded.
select q.name as queue,
       count(*)::int as ready,
       extract(epoch from now() - min(j.run_at))::float8 as oldest_ready_seconds,
       count(*) filter (where j.target ? 'url')::int as http_jobs
from {{schema}}.queues q
join {{schema}}.jobs j on j.queue = q.name and j.state <> 'running' and j.run_at <= now()
where not q.paused
  and not exists (select 1 from {{schema}}.switches s
                  where s.name = 'process:' || q.name and not s.enabled)
  and not exists (select 1 from {{schema}}.jobs r
                  where r.queue = q.name
                    and (r.state = 'running' or r.started_at >= now() - make_interval(secs => $1)))
  and not exists (select 1 from {{schema}}.job_finishes f
                  where f.queue = q.name and f.finished_at >= now() - make_interval(secs => $1))
  and not exists (select 1 from {{schema}}.job_history h
                  where h.queue = q.name and h.state <> 'succeeded'
                    and h.finished_at >= now() - make_interval(secs => $1))
group by q.name
having min(j.run_at) < now() - make_interval(secs => $1)
order by q.name
