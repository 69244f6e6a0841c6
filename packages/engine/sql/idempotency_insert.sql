-- idempotency_insert: take key ($1 scope, $2 key) for a new request with fingerprint $3, locked
-- for $4 seconds of processing and kept $5 seconds. No row when the key exists already.
insert into {{schema}}.idempotency_keys (scope, key, fingerprint, state, locked_until, expires_at)
values ($1, $2, $3, 'started', now() + $4 * interval '1 second', now() + $5 * interval '1 second')
on conflict (scope, key) do nothing
returning state
