-- lock_queue: lock queue $1's row for the rest of the transaction and read its limits.
-- Claims on a limited queue serialise here, so the running counts they read are exact.
select concurrency, tenant_concurrency, paused
from {{schema}}.queues
where name = $1
for no key update
