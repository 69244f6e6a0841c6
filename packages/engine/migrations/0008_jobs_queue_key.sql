-- keel:additive — drops a foreign key older code never relied on (enqueue reads the queue row itself)
-- 0008: drop the foreign key from jobs to queues. Enqueue already joins each job to its queue
-- (a job is written only when its queue row exists, read in the same statement), retries move
-- jobs back to the queue they came from, and queues are never deleted; yet the key's trigger
-- ran a lookup per inserted job: about an eighth of bulk enqueue time (decision 024).
-- schedules.queue keeps its key: schedules are few and written rarely.
alter table jobs drop constraint jobs_queue_fkey;
