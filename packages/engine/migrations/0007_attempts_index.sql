-- keel:additive — drops an index no statement reads
-- 0007: drop attempts_finished. No statement reads attempts by finish time (retention deletes
-- them by job id, with their job), yet every finished attempt paid for an entry in it: one of
-- the five index inserts a completion makes per job.
drop index attempts_finished;
