-- ratelimit_update: store the new TATs of an admitted check, rows already locked by
-- ratelimit_lock in the same transaction: parallel arrays $1 policies, $2 keys, $3 tats (µs).
update {{schema}}.rate_limits as r
set tat = v.tat
from unnest($1::text[], $2::text[], $3::bigint[]) as v(policy, key, tat)
where r.policy = v.policy and r.key = v.key
