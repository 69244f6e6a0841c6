-- keel:additive — two new tables; older code never reads them
-- 0013: the record of `keel backup now` and `keel backup drill` (decision 046). A backup row
-- holds where the dump is and what it held (tables and their row counts in the dump's own
-- snapshot), never a connection string: `source` is a label (host:port/database, no password).
-- A drill row holds the measured restore time (RTO) and the age of the data restored (RPO).
create table backups (
  id bigint generated always as identity primary key,
  target text not null,
  source text not null,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  data_at timestamptz,
  path text,
  size_bytes bigint,
  sha256 text,
  tables jsonb,
  error text
);
create index backups_target_started on backups (target, started_at desc);

create table backup_drills (
  id bigint generated always as identity primary key,
  backup_id bigint references backups (id) on delete set null,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  restore_ms bigint,
  data_age_seconds double precision,
  error text
);
create index backup_drills_started on backup_drills (started_at desc);
