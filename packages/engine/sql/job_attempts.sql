-- job_attempts: every recorded try of job $1, oldest first.
select attempt, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms, response_body
from {{schema}}.attempts
where job_id = $1
order by id
