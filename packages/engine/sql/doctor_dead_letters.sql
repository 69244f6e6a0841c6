-- doctor_dead_letters: per queue, jobs that died in the last $1 seconds and in the same span
-- before that, for dead-letter growth.
select queue,
       count(*) filter (where finished_at >= now() - make_interval(secs => $1))::int as recent,
       count(*) filter (where finished_at < now() - make_interval(secs => $1))::int as before
from {{schema}}.job_history
where state = 'dead' and state <> 'succeeded' and finished_at >= now() - make_interval(secs => 2 * $1)
group by queue
order by queue
