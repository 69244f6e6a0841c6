-- audit: append one entry. $1 actor, $2 action, $3 target, $4 source (address or host), $5 details,
-- $6 when the change happened (null: now).
insert into {{schema}}.audit_log (actor, action, target, source, details, at)
values ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
returning id, at
