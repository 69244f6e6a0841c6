-- set_switch: turn switch $1 on ($2 = true) or off, by $3 with reason $4. Returns the new row.
insert into {{schema}}.switches as s (name, enabled, reason, updated_by, updated_at)
values ($1, $2, $4, $3, now())
on conflict (name) do update
set enabled = excluded.enabled, reason = excluded.reason, updated_by = excluded.updated_by, updated_at = now()
returning name, enabled, reason, updated_by, updated_at
