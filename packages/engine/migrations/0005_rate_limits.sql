-- keel:additive — a new table only
-- 0005: rate-limit state for the Postgres store of @keel/sdk and POST /v1/ratelimit/check.

-- GCRA keeps one number per (policy, key): the theoretical arrival time (TAT), in microseconds
-- since the Unix epoch on the database clock. A row whose TAT is in the past holds nothing the
-- next check needs (the key is back to its full quota), so the sweep deletes it.
-- Unlogged: limiter state is not a record; after a crash the table comes back empty (every key
-- at its full quota) and writes skip the WAL, which is most of a check's cost.
-- fillfactor leaves room on each page for HOT updates of tat (no index covers it).
create unlogged table rate_limits (
  policy text not null,
  key text not null,
  tat bigint not null,
  primary key (policy, key)
) with (fillfactor = 70);
