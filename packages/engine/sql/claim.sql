-- claim: lease up to $3 ready jobs of queue $1 whose handler is in $2 (text[]), highest priority
-- first, for $4 milliseconds to worker $5, scanning the queue from its front. SKIP LOCKED lets
-- any number of workers claim at once without waiting on each other (claim_due_tids in 0025: due
-- jobs priority by priority, decision 069, as the tuple ids of the rows it locked, decision 074).
-- Only for queues without concurrency limits or flow control (limited queues use claim_limited).
-- claim_after is the same claim starting after a cursor (decision 054). Two statements, not one
-- with both branches: with both, Postgres never found the generic plan as cheap as a custom one
-- and planned every claim again (decision 065).
with {{include claim_allowed}},
picked as (
  select c.tid
  from {{schema}}.claim_due_tids($1, $2::text[], $3, null, null) as c(tid)
  where (select ok from allowed)
),
{{include claim_lease}}