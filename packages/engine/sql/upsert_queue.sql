-- upsert_queue: create queue $1 or replace its settings. The pause state is runtime state
-- and is left as it is. $2 concurrency, $3 tenant_concurrency, $4 max_attempts, $5 backoff,
-- $6 retention of succeeded jobs (s), $7 retention of dead and cancelled jobs (s),
-- $8 HTTP attempt timeout (ms, null for the deliverer's default).
-- Returns the row and whether it was created, when it was created or its settings changed; no
-- row when they were already as given (so a config sync that changes nothing audits nothing).
insert into {{schema}}.queues as q
  (name, concurrency, tenant_concurrency, max_attempts, backoff, retention_succeeded_seconds, retention_dead_seconds,
   delivery_timeout_ms)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (name) do update
set concurrency = excluded.concurrency,
    tenant_concurrency = excluded.tenant_concurrency,
    max_attempts = excluded.max_attempts,
    backoff = excluded.backoff,
    retention_succeeded_seconds = excluded.retention_succeeded_seconds,
    retention_dead_seconds = excluded.retention_dead_seconds,
    delivery_timeout_ms = excluded.delivery_timeout_ms,
    updated_at = now()
where (q.concurrency, q.tenant_concurrency, q.max_attempts, q.backoff, q.retention_succeeded_seconds,
       q.retention_dead_seconds, q.delivery_timeout_ms)
  is distinct from
      (excluded.concurrency, excluded.tenant_concurrency, excluded.max_attempts, excluded.backoff,
       excluded.retention_succeeded_seconds, excluded.retention_dead_seconds, excluded.delivery_timeout_ms)
returning *, (xmax = 0) as created
