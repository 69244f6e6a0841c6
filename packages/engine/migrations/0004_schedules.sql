-- keel:breaking — older code finishing a job copies it to job_history without origin, losing what event status and schedule history read
-- 0004: what created a job (its origin), cron schedules, the slots they decided, and the
-- tenant registry that schedules fan out over.

-- Where a job came from, for the delivered request and for operators: a schedule slot
-- {"schedule", "fireTime", "trigger"} or an intake event. Null for jobs enqueued directly.
alter table jobs add column origin jsonb;
alter table job_history add column origin jsonb;

-- Unfinished runs of a schedule (overlap policies look here; only scheduled jobs are indexed).
create index jobs_schedule on jobs ((origin ->> 'schedule'), tenant) where origin ? 'schedule';

-- A schedule: cron expression, time zone, job template, policies. next_fire_at is the cursor,
-- the earliest slot not yet decided; a scheduler advances it while holding the row lock.
create table schedules (
  name text primary key,
  cron text not null,
  timezone text not null,
  queue text not null references queues (name),
  target jsonb not null,
  payload jsonb not null default 'null',
  -- priority, maxAttempts, backoff of the jobs it makes
  job_options jsonb not null default '{}',
  missed text not null default 'latest' check (missed in ('latest', 'all', 'skip')),
  backfill_seconds integer not null default 86400 check (backfill_seconds > 0),
  overlap text not null default 'allow' check (overlap in ('allow', 'skip', 'queue')),
  -- null, {"tenants": [...]} or {"registry": true}
  fan_out jsonb,
  jitter_seconds integer not null default 0 check (jitter_seconds >= 0),
  -- 'config': owned by the config file, removed when it leaves the file; 'api': by API/CLI calls.
  managed_by text not null check (managed_by in ('config', 'api')),
  next_fire_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index schedules_due on schedules (next_fire_at);

-- One row per decided slot: the primary key is what makes a slot (and a tenant's share of it)
-- yield at most one job, whatever the number of schedulers. A missed range skipped by policy is
-- one row from fire_time to last_fire_time. Rows outlive their schedule, so a schedule deleted
-- and created again can never repeat a slot.
create table schedule_runs (
  schedule text not null,
  fire_time timestamptz not null,
  -- '' when the schedule does not fan out (a primary key column cannot be null)
  tenant text not null default '',
  kind text not null check (kind in ('cron', 'manual', 'backfill')),
  outcome text not null check (outcome in ('enqueued', 'queued', 'skipped')),
  -- why a slot was skipped: paused, switch, overlap, missed, enqueue_disabled
  reason text,
  last_fire_time timestamptz,
  skipped_count integer,
  job_id bigint,
  decided_at timestamptz not null default now(),
  primary key (schedule, fire_time, tenant)
);
create index schedule_runs_recent on schedule_runs (schedule, fire_time desc);
create index schedule_runs_queued on schedule_runs (schedule, tenant, fire_time) where outcome = 'queued';
create index schedule_runs_retention on schedule_runs (decided_at);

-- Tenants that schedules with {"registry": true} fan out over, managed through the API.
create table tenants (
  id text primary key,
  created_at timestamptz not null default now()
);
