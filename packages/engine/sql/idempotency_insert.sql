-- idempotency_insert: take keys for new requests, one per index of the arrays: $1 scopes, $2 keys,
-- $3 fingerprints, $4 lock seconds (processing), $5 keep seconds. Returns the scope and key of
-- each key taken; a key that exists already is left as it is and returns nothing.
-- Commits without waiting for its WAL flush (synchronous_commit off for this statement's own
-- transaction): taking a key acknowledges nothing, and the synchronous commit of the request's
-- change (with its stored response) flushes this record too (decision 063). A crash before that
-- loses the key with no change made, and a retry starts afresh.
insert into {{schema}}.idempotency_keys (scope, key, fingerprint, state, locked_until, expires_at)
select r.scope, r.key, r.fingerprint, 'started', now() + r.lock_s * interval '1 second',
  now() + r.keep_s * interval '1 second'
from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[]) as r(scope, key, fingerprint, lock_s, keep_s)
where set_config('synchronous_commit', 'off', true) is not null
on conflict (scope, key) do nothing
returning scope, key
