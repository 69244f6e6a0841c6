-- bulk_count_shard: for the rest of this transaction, job_history's triggers count in shard
-- 16 + pg_backend_pid() % 16 (decision 050): a bulk retry or purge holds its counter rows until
-- it commits, and workers' completions (shards 0–15) never wait for them.
select set_config('keel.count_shard', (16 + pg_backend_pid() % 16)::text, true) as shard
