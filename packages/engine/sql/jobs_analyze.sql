-- jobs_analyze: refresh the planner's statistics of jobs. Postgres then plans again every cached
-- plan that reads the table (decision 066).
analyze {{schema}}.jobs
