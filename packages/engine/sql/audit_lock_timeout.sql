-- audit_lock_timeout: in this transaction, give up a lock not granted within $1 milliseconds
-- (audit expiry must never queue every audited change behind a long transaction).
select set_config('lock_timeout', $1::text, true)
