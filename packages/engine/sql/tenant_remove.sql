-- tenant_remove: remove tenant $1 from the registry.
delete from {{schema}}.tenants where id = $1 returning id
