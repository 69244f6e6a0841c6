-- idempotency_finish: store the response of the request holding key ($1, $2) with fingerprint
-- $3: status $4, headers $5 (jsonb), body $6. Stored whatever the status, 5xx included.
update {{schema}}.idempotency_keys
set state = 'completed', locked_until = null, response_status = $4, response_headers = $5, response_body = $6
where scope = $1 and key = $2 and state = 'started' and fingerprint = $3
returning state
