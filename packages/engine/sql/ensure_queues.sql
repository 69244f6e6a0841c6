-- ensure_queues: create queues $1 (text[]) with default settings unless they exist.
insert into {{schema}}.queues (name)
select unnest($1::text[])
on conflict (name) do nothing
