-- list_jobs_filter: list_jobs' filters shared by its two sides (jobs, job_history), each
-- applying when its parameter is not null: $5 tenant, $6 handler ('@http' for HTTP targets),
-- $7 the host of an HTTP target's URL (case-insensitive), $8 dedupe key, $9 created at or after,
-- $10 created before. Not a statement.
($5::text is null or tenant = $5)
       and ($6::text is null or handler = $6)
       and ($7::text is null
            or lower(substring(target ->> 'url' from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#]+)')) = lower($7))
       and ($8::text is null or dedupe_key = $8)
       and ($9::timestamptz is null or created_at >= $9)
       and ($10::timestamptz is null or created_at < $10)
