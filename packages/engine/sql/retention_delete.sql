-- retention_delete: delete up to $4 jobs of queue $1 that died or were cancelled, in states $2
-- (text[]), that finished more than $3 seconds ago, with their attempts. Returns how many jobs
-- went. Small batches keep each transaction short and the locks brief (decision 003). Succeeded
-- jobs go through their job_finishes rows (retention_delete_succeeded, decision 088); the
-- condition on state here is the partial index's, job_history_unsucceeded.
with doomed as (
  select id
  from {{schema}}.job_history
  where queue = $1 and state <> 'succeeded' and state = any($2::text[]) and finished_at < now() - $3 * interval '1 second'
  order by finished_at
  limit $4
  for update skip locked
),
gone as (
  delete from {{schema}}.job_history h using doomed d where h.id = d.id returning h.id
),
tries as (
  delete from {{schema}}.attempts a using gone g where a.job_id = g.id
)
select count(*)::int as deleted from gone
