-- retry_dead: put up to $2 dead jobs of queue $1 (filtered by $3–$6, see dead_filter) back with
-- fresh attempts, oldest first. Of several dead jobs sharing a dedupe key only the newest is
-- retried, and none whose key is held by a live job, so the unique key is never violated by the
-- batch itself.
with src as (
  delete from {{schema}}.job_history d
  where d.id in (
    select h.id from {{schema}}.job_history h
    where h.queue = $1
      and {{include dead_filter}}
      and (h.dedupe_key is null or (
        not exists (select 1 from {{schema}}.jobs j where j.queue = h.queue and j.dedupe_key = h.dedupe_key)
        and h.id = (select max(h3.id) from {{schema}}.job_history h3
                    where h3.queue = h.queue and h3.dedupe_key = h.dedupe_key and h3.state = 'dead')))
    order by h.finished_at
    limit $2
    for update skip locked
  )
  returning d.*
),
{{include keep_last_try}},
ins as (
  insert into {{schema}}.jobs
    (id, queue, handler, state, target, payload, run_at, priority, attempt, max_attempts, backoff, dedupe_key,
     tenant, last_error, created_at, origin)
  select id, queue, handler, 'available', target, payload, now(), priority, 0, max_attempts, backoff, dedupe_key,
         tenant, last_error, created_at, origin
  from src
  returning id
),
wake as (
  select pg_notify({{channel}}, $1) where exists (select 1 from ins)
)
select (select count(*) from ins)::int as retried, (select count(*) from wake)::int as woke
