-- ratelimit_lock: inside a check's transaction, lock the rows of the (policy, key) pairs given as
-- parallel arrays $1 policies, $2 keys, always in (policy, key) order so concurrent checks never
-- deadlock; a missing row is created with tat 0 (a key at its full quota). Returns each row's
-- tat and the database clock in microseconds since the Unix epoch, read after the row's lock.
-- The caller decides, then runs ratelimit_update and commits, or rolls back (nothing written).
insert into {{schema}}.rate_limits as r (policy, key, tat)
select i.policy, i.key, 0
from unnest($1::text[], $2::text[]) as i(policy, key)
order by i.policy, i.key
on conflict (policy, key) do update set tat = r.tat
returning r.policy, r.key, r.tat, (extract(epoch from clock_timestamp()) * 1000000)::bigint as now_us
