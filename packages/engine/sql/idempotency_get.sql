-- idempotency_get: the record of key ($1 scope, $2 key).
select fingerprint, state, response_status, response_headers, response_body
from {{schema}}.idempotency_keys
where scope = $1 and key = $2
