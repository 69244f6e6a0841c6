-- job_attempts: every recorded try of job $1, oldest first (the job_tries view: attempts, then
-- the try that ended the job, kept in its history row; decision 053).
select attempt, worker_id, outcome, error, started_at, finished_at, response_status, latency_ms, response_body
from {{schema}}.job_tries
where job_id = $1
order by ord nulls last
