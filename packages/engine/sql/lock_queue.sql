-- lock_queue: lock queue $1's row for the rest of the transaction and read its limits.
-- Claims on a limited queue serialise here, so the running counts they read are exact.
-- The transaction-local planner settings steer claim_limited, planned after this statement, to
-- ordered index walks even when statistics are stale (see claim_candidates in 0001), and to one
-- generic plan.
select concurrency, flow_key, flow_concurrency, flow_rate_limit, flow_rate_window_seconds, flow_rate_burst,
       paused or exists (
         select 1 from {{schema}}.switches s where s.name = 'process:' || $1 and not s.enabled) as paused,
       set_config('enable_seqscan', 'off', true) as _s1,
       set_config('enable_bitmapscan', 'off', true) as _s2,
       -- claim_limited's plan does not depend on its parameters' values: plan it once per
       -- connection instead of again on every claim (planning cost as much as running it).
       set_config('plan_cache_mode', 'force_generic_plan', true) as _s3
from {{schema}}.queues
where name = $1
for no key update
