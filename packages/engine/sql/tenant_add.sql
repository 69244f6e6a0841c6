-- tenant_add: add tenants $1 to the registry; returns those that were new.
insert into {{schema}}.tenants (id) select unnest($1::text[]) on conflict (id) do nothing returning id
