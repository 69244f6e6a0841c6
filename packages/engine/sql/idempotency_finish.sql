-- idempotency_finish: store the responses of the requests holding keys, one per index of the
-- arrays: $1 scopes, $2 keys, $3 fingerprints, $4 statuses, $5 headers (JSON texts), $6 bodies.
-- A record is completed only while its request still holds it (started, same fingerprint).
-- Stored whatever the status, 5xx included.
update {{schema}}.idempotency_keys k
set state = 'completed', locked_until = null, response_status = r.status,
  response_headers = r.headers::jsonb, response_body = r.body
-- Planned at every run (decision 063), with the arrays behind subqueries: counted, a group of
-- hundreds hashed the whole of idempotency_keys (decision 081).
from unnest((select $1::text[]), (select $2::text[]), (select $3::text[]), (select $4::int[]), (select $5::text[]),
            (select $6::text[]))
  as r(scope, key, fingerprint, status, headers, body)
where k.scope = r.scope and k.key = r.key and k.state = 'started' and k.fingerprint = r.fingerprint
returning k.state
