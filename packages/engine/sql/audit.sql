-- audit: append one entry. $1 actor, $2 action, $3 target, $4 source (address or host), $5 details.
insert into {{schema}}.audit_log (actor, action, target, source, details)
values ($1, $2, $3, $4, $5)
returning id, at
