-- idempotency_release: give back key ($1 scope, $2 key) taken with fingerprint $3 by a request
-- that failed before its change committed, so a retry runs at once instead of waiting for the
-- lock to lapse. Only a record still started (a lost commit acknowledgement leaves it
-- completed) and still locked (once the lock lapsed, a retry may have taken it over) is deleted.
delete from {{schema}}.idempotency_keys
where scope = $1 and key = $2 and fingerprint = $3 and state = 'started' and locked_until > now()
