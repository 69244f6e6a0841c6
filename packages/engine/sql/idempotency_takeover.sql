-- idempotency_takeover: take an existing key ($1, $2) when its record expired, or when its
-- request was abandoned in flight (lock passed) and the retry has the same fingerprint $3.
-- $4 lock seconds, $5 keep seconds. The UPDATE re-checks after any lock wait, so only one
-- concurrent retry takes it.
update {{schema}}.idempotency_keys
set fingerprint = $3, state = 'started', locked_until = now() + $4 * interval '1 second',
    expires_at = now() + $5 * interval '1 second', created_at = now(),
    response_status = null, response_headers = null, response_body = null
where scope = $1 and key = $2
  and (expires_at < now() or (state = 'started' and locked_until < now() and fingerprint = $3))
returning state
