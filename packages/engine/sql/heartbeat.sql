-- heartbeat: extend by $3 milliseconds the leases that still match ids $1 and tokens $2.
-- Returns the ids still held; a missing id means the lease was lost (swept or cancelled).
update {{schema}}.jobs j
set lease_until = now() + $3 * interval '1 millisecond'
from unnest($1::bigint[], $2::uuid[]) as h(id, token)
where j.id = any($1::bigint[]) and j.id = h.id and j.lease_token = h.token
returning j.id
