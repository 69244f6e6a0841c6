-- intake_upsert_source: create source $1 or replace its definition: $2 provider, $3 secrets
-- (text[]), $4 settings (jsonb), $5 routes (jsonb), $6 body limit, $7 retention seconds,
-- $8 managed_by. With $9 true (an API write) a source the config file manages is left alone.
-- Returns the row, created = true for a new one, only when something changed: an identical
-- definition is not rewritten, so syncing the same config again changes nothing.
insert into {{schema}}.sources as s
  (name, provider, secrets, settings, routes, body_limit_bytes, retention_seconds, managed_by)
values ($1, $2, $3, $4, $5, $6, $7, $8)
on conflict (name) do update
set provider = excluded.provider,
    secrets = excluded.secrets,
    settings = excluded.settings,
    routes = excluded.routes,
    body_limit_bytes = excluded.body_limit_bytes,
    retention_seconds = excluded.retention_seconds,
    managed_by = excluded.managed_by,
    updated_at = now()
where not ($9::boolean and s.managed_by = 'config')
  and (s.provider, s.secrets, s.settings, s.routes, s.body_limit_bytes, s.retention_seconds, s.managed_by)
      is distinct from
      (excluded.provider, excluded.secrets, excluded.settings, excluded.routes, excluded.body_limit_bytes,
       excluded.retention_seconds, excluded.managed_by)
returning s.*, (s.xmax = 0) as created
