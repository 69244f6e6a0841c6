-- audit_many: append several entries in one statement (a group commit's job.create rows).
-- $1 actors, $2 actions, $3 targets, $4 sources, $5 details (jsonb text): text arrays of one
-- length, one entry per index, all at now().
insert into {{schema}}.audit_log (actor, action, target, source, details)
select actor, action, target, source, details::jsonb
from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as a(actor, action, target, source, details)
