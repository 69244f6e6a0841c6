-- heartbeat: extend by $3 milliseconds the leases that still match ids $1 and tokens $2.
-- Returns the ids still held; a missing id means the lease was lost (swept or cancelled).
update {{schema}}.jobs j
set lease_until = now() + $3 * interval '1 millisecond'
-- Sorted, and limited to their count: one kept plan for one job or hundreds (decision 067).
from (select * from unnest($1::bigint[], $2::uuid[]) order by 1 limit cardinality($1::bigint[])) as h(id, token)
where j.id = h.id and j.lease_token = h.token
returning j.id
