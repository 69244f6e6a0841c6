-- complete: finish the jobs whose ids $1 still match lease tokens $2, moving them to history
-- with a 'succeeded' attempt. $3 int[] response status, $4 int[] latency ms, $5 text[] start of
-- the response body, per job, null where not an HTTP delivery.
-- Returns the ids finished; an absent id had a stale token.
with ended as (
  delete from {{schema}}.jobs j
  using unnest($1::bigint[], $2::uuid[], $3::int[], $4::int[], $5::text[]) as c(id, token, status, latency, body)
  where j.id = any($1::bigint[]) and j.id = c.id and j.lease_token = c.token
  returning j.*, 'succeeded'::text as final_state, null::jsonb as final_error, c.status, c.latency, c.body
),
tried as (
  select id, attempt, queue, worker_id, 'succeeded' as outcome, null::jsonb as error, started_at, status, latency, body
  from ended
),
{{include to_history}}
select id from ended
