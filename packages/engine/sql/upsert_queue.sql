-- upsert_queue: create queue $1 or replace its settings. The pause state is runtime state
-- and is left as it is. $2 concurrency, $3 tenant_concurrency, $4 max_attempts, $5 backoff,
-- $6 retention of succeeded jobs (s), $7 retention of dead and cancelled jobs (s),
-- $8 HTTP attempt timeout (ms, null for the deliverer's default), $9 flow key expression,
-- $10 flow concurrency per key, $11 flow rate limit, $12 its window (s), $13 its burst.
-- tenant_concurrency is still written (with flow key 'tenant') for processes of the previous
-- version, which read only it.
-- Returns the row and whether it was created, when it was created or its settings changed; no
-- row when they were already as given (so a config sync that changes nothing audits nothing).
insert into {{schema}}.queues as q
  (name, concurrency, tenant_concurrency, max_attempts, backoff, retention_succeeded_seconds, retention_dead_seconds,
   delivery_timeout_ms, flow_key, flow_concurrency, flow_rate_limit, flow_rate_window_seconds, flow_rate_burst)
values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
on conflict (name) do update
set concurrency = excluded.concurrency,
    tenant_concurrency = excluded.tenant_concurrency,
    max_attempts = excluded.max_attempts,
    backoff = excluded.backoff,
    retention_succeeded_seconds = excluded.retention_succeeded_seconds,
    retention_dead_seconds = excluded.retention_dead_seconds,
    delivery_timeout_ms = excluded.delivery_timeout_ms,
    flow_key = excluded.flow_key,
    flow_concurrency = excluded.flow_concurrency,
    flow_rate_limit = excluded.flow_rate_limit,
    flow_rate_window_seconds = excluded.flow_rate_window_seconds,
    flow_rate_burst = excluded.flow_rate_burst,
    updated_at = now()
where (q.concurrency, q.tenant_concurrency, q.max_attempts, q.backoff, q.retention_succeeded_seconds,
       q.retention_dead_seconds, q.delivery_timeout_ms, q.flow_key, q.flow_concurrency, q.flow_rate_limit,
       q.flow_rate_window_seconds, q.flow_rate_burst)
  is distinct from
      (excluded.concurrency, excluded.tenant_concurrency, excluded.max_attempts, excluded.backoff,
       excluded.retention_succeeded_seconds, excluded.retention_dead_seconds, excluded.delivery_timeout_ms,
       excluded.flow_key, excluded.flow_concurrency, excluded.flow_rate_limit, excluded.flow_rate_window_seconds,
       excluded.flow_rate_burst)
returning *, (xmax = 0) as created
