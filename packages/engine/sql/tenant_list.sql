-- tenant_list: the tenant registry, by id.
select id, created_at from {{schema}}.tenants order by id
