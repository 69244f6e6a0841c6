-- keel:additive — new tables only
-- 0003: the Idempotency-Key store and generated settings.

-- One row per (scope, key): the first request runs, later ones get its stored response.
-- A 'started' row whose locked_until has passed was abandoned (its process died) and may be
-- taken over by a retry with the same fingerprint.
create table idempotency_keys (
  scope text not null,
  key text not null,
  fingerprint text not null,
  state text not null check (state in ('started', 'completed')),
  locked_until timestamptz,
  response_status integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (scope, key)
);
create index idempotency_keys_expiry on idempotency_keys (expires_at);

-- Values Keel generates once and shares between replicas (development secrets).
create table settings (
  key text primary key,
  value text not null,
  created_at timestamptz not null default now()
);
