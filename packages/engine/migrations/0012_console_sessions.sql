-- keel:additive — a new table; older code never reads it
-- 0012: operator console sessions (decision 041). Only the SHA-256 of a session's secret is
-- stored: a database leak reveals no usable cookie. A session ends at expires_at (absolute) or
-- after idle_seconds without a request, or when revoked (sign-out); rows past their absolute
-- expiry are deleted when a new session is made.
create table console_sessions (
  id bigint generated always as identity primary key,
  hash bytea not null unique,
  role text not null check (role in ('read', 'operate', 'admin')),
  actor text not null,
  source text,
  idle_seconds integer not null check (idle_seconds > 0),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index console_sessions_expires_at on console_sessions (expires_at);
