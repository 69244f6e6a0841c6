-- count_dead: how many dead jobs of queue $1 a bulk retry or purge filtered by $3–$6 (see
-- dead_filter) would touch, stopping at $2: the dry run of the console's bulk actions. Walks the
-- queue's dead jobs (job_history_unsucceeded), never the rest of history.
select count(*)::int as dead
from (select 1 from {{schema}}.job_history h where h.queue = $1 and {{include dead_filter}} limit $2) c
