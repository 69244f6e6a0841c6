-- heartbeat: extend by $3 milliseconds the leases that still match ids $1 and tokens $2.
-- Returns the ids still held; a missing id means the lease was lost (swept or cancelled).
update {{schema}}.jobs j
set lease_until = now() + $3 * interval '1 millisecond'
-- Sorted, and limited to their count: one kept plan for one job or hundreds (decision 067). Each
-- array behind a subquery: a connection's first five runs are planned with the values, and an
-- array Postgres can count made it read all of jobs for a batch of hundreds (decision 081).
from (select * from unnest((select $1::bigint[]), (select $2::uuid[])) order by 1 limit cardinality($1::bigint[]))
  as h(id, token)
where j.id = h.id and j.lease_token = h.token
returning j.id
