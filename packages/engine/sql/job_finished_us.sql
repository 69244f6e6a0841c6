-- job_finished_us: the finish time of finished job $1 in microseconds since the epoch (no row
-- while it is unfinished or gone): where a list in finish order resumes after a cursor that is a
-- bare job id (decision 083).
select (extract(epoch from finished_at) * 1000000)::bigint::text as finished_us
from {{schema}}.job_history
where id = $1
