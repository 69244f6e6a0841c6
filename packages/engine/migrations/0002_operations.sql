-- keel:additive — new tables, and nullable columns on attempts that older code leaves null
-- 0002: what an HTTP delivery attempt records, runtime kill switches, API tokens, the audit log.

-- Delivery attempts keep the response status, latency and the start of the body (16 KiB).
alter table attempts
  add column response_status integer,
  add column latency_ms integer,
  add column response_body text;

-- Kill switches: 'scheduling', 'scheduling:<schedule>', 'enqueue:<queue>', 'process:<queue>'.
-- A missing row means on. Every change is announced so replicas see it within a second.
create table switches (
  name text primary key,
  enabled boolean not null,
  reason text,
  updated_by text not null,
  updated_at timestamptz not null default now()
);

create function notify_switch_changed() returns trigger language plpgsql as $$
begin
  perform pg_notify(tg_table_schema || ':switches', new.name);
  -- Turning processing back on wakes that queue's workers like new work would.
  if new.enabled and new.name like 'process:%' then
    perform pg_notify(tg_table_schema || ':jobs', substr(new.name, length('process:') + 1));
  end if;
  return null;
end
$$;

create trigger switches_notify_changed
  after insert or update on switches
  for each row execute function notify_switch_changed();

-- API tokens. Only a SHA-256 of the token is stored (tokens carry 190 random bits, so a slow
-- password hash adds nothing); `prefix` identifies a token in lists without revealing it.
create table tokens (
  id bigint generated always as identity primary key,
  name text not null,
  prefix text not null,
  hash bytea not null unique,
  scopes text[] not null check (cardinality(scopes) > 0 and scopes <@ array['admin', 'publish', 'read']),
  created_by text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_by text,
  revoked_at timestamptz
);

-- Who changed what, when, from where. Append-only: updates and deletes are refused.
create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target text,
  source text,
  details jsonb
);
create index audit_log_at on audit_log (at);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'the audit log is append-only' using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_log_no_rewrite
  before update or delete on audit_log
  for each row execute function audit_log_append_only();
