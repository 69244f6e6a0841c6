-- list_audit: up to $2 entries older than id $1 (null for the newest), newest first.
select id, at, actor, action, target, source, details
from {{schema}}.audit_log
where ($1::bigint is null or id < $1)
order by id desc
limit $2
