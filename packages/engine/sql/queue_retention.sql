-- queue_retention: each queue's retention windows in seconds.
select name, retention_succeeded_seconds, retention_dead_seconds from {{schema}}.queues order by name
