-- keel:additive — an index no statement names dropped; older code runs unchanged (its list of a queue's finished jobs walks the primary key instead)
-- 0027 (decision 083): one index of history by queue and state instead of two. Every finished
-- job was entered in job_history_retention (queue, state, finished_at) and in
-- job_history_queue_state (queue, state, id); the second served only the list of a queue's jobs
-- in one finished state, newest id first. That list is now in finish order
-- (list_finished_jobs), which job_history_retention serves; every other reader by queue and
-- state (retention, failure groups, the hour's counts, dead-job retries, purges and counts)
-- already read it or reads it as well. One B-tree entry fewer a finished job.
drop index job_history_queue_state;
