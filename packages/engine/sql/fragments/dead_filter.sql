-- dead_filter: which dead jobs a bulk retry, purge or dry-run count touches, as a condition on
-- job_history row h; each filter applies when its parameter is not null: $3 error fingerprint
-- (error_fingerprint, decision 050), $4 error code, $5 finished at least that many seconds ago,
-- $6 tenant. Not a statement. The second condition on state is the partial index's,
-- job_history_unsucceeded (decision 088).
h.state = 'dead' and h.state <> 'succeeded'
    and ($3::text is null or {{schema}}.error_fingerprint(h.last_error) = $3)
    and ($4::text is null or h.last_error ->> 'code' = $4)
    and ($5::float8 is null or h.finished_at <= now() - $5 * interval '1 second')
    and ($6::text is null or h.tenant = $6)
