-- list_switches: every switch that has been set, with who set it and why. Unset switches are on.
select name, enabled, reason, updated_by, updated_at from {{schema}}.switches order by name
