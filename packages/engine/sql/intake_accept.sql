-- intake_accept: store a batch of verified events and the jobs their routes make, in one
-- statement (an implicit transaction: no BEGIN or COMMIT round trips; decision 057).
-- Events, $1–$9 as intake_events takes them; event keys are unique within the batch. $10 the
-- jobs: a jsonb array of enqueue's rows (see enqueue.sql), each with `ev`, the 1-based index of
-- its event, and its origin without the event id.
-- An event already stored (same source and event_id) is skipped, and so are its jobs: that is
-- the dedupe (a concurrent insert of the same key waits for the other transaction, then skips).
-- Jobs of new events that share a dedupe or singleton key within the batch: the first is
-- inserted; a debounce key: the last (it would replace the others).
-- An `enqueue:<queue>` switch that is off for a queue a new event routes to refuses the whole
-- batch: nothing is written and every row says refused (the caller writes the others again).
-- Returns one row per event: its index, its id (null only when the key was stored by a
-- transaction that committed after this statement began: look it up again), inserted, and
-- refused. Rows go in key order, not arrival order: two batches holding the same events then
-- wait on each other's keys in one order and cannot deadlock.
with
{{include intake_events}},
jobs as materialized (
  select *
  from jsonb_to_recordset($10::jsonb) as x(
         ord int, ev int, queue text, handler text, target jsonb, payload jsonb, run_at timestamptz,
         delay_ms bigint, priority int, max_attempts int, backoff jsonb, dedupe_key text, tenant text, origin jsonb,
         flow_key text, flow_concurrency int, singleton_key text, debounce_key text, debounce_max_ms bigint)
),
{{include intake_store_events}},
input as materialized (
  select k.*, row_number() over (order by k.ord) as rn
  from (
    select distinct on (j.queue, coalesce('d:' || j.dedupe_key, 's:' || j.singleton_key, 'b:' || j.debounce_key,
                                          'o:' || j.ord))
           j.ord, j.queue, j.handler, j.target, j.payload, j.run_at, j.delay_ms, j.priority, j.max_attempts,
           j.backoff, j.dedupe_key, j.tenant,
           coalesce(j.origin, '{}'::jsonb) || jsonb_build_object('event', s.id::text) as origin,
           j.flow_key, j.flow_concurrency, j.singleton_key, j.debounce_key, j.debounce_max_ms
    from jobs j
    join ev on ev.ev = j.ev
    join stored s on s.source = ev.source and s.event_id = ev.event_id
    order by j.queue, coalesce('d:' || j.dedupe_key, 's:' || j.singleton_key, 'b:' || j.debounce_key,
                               'o:' || j.ord),
             case when j.debounce_key is null then j.ord else -j.ord end
  ) k
),
{{include enqueue_jobs}}
{{include intake_answer}}
