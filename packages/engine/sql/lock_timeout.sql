-- lock_timeout: in this transaction, give up a lock not granted within $1 milliseconds
-- (SQLSTATE 55P03). Audit expiry must never queue every audited change behind a long
-- transaction; the analysis of jobs must never wait long enough to cancel autovacuum's work on
-- it (decision 066).
select set_config('lock_timeout', $1::text, true)
