-- intake_store_events: the events of an intake batch, stored unless a switch refuses the batch;
-- included by intake_accept and intake_accept_plain. Not a statement.
-- Expects two CTEs before it: ev(source, event_id, type, content_type, headers, body,
-- verification, jobs_created, ev) and jobs(ev, queue, …): the events and the jobs they make.
-- Leaves refusal(refused): an `enqueue:<queue>` switch that is off for a queue a new event
-- routes to refuses the whole batch (nothing written); and stored(id, source, event_id): the
-- events inserted now (one already stored is skipped: the dedupe; a concurrent insert of the same
-- key waits for the other transaction, then skips), in key order so that two batches holding
-- the same events wait on each other's keys in one order and cannot deadlock.
refusal as materialized (
  select exists (
    select 1
    from jobs j
    join ev on ev.ev = j.ev
    join {{schema}}.switches s on s.name = 'enqueue:' || j.queue and not s.enabled
    where not exists (
      select 1 from {{schema}}.events e where e.source = ev.source and e.event_id = ev.event_id)
  ) as refused
),
stored as (
  insert into {{schema}}.events
    (source, event_id, type, content_type, headers, body, verification, jobs_created)
  select source, event_id, type, content_type, headers, body, verification, jobs_created
  from ev
  where not (select refused from refusal)
  order by source, event_id
  on conflict (source, event_id) do nothing
  returning id, source, event_id
)
