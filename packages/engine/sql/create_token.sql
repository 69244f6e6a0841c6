-- create_token: store a token's hash. $1 name, $2 prefix, $3 sha-256 hash, $4 scopes, $5 created by.
insert into {{schema}}.tokens (name, prefix, hash, scopes, created_by)
values ($1, $2, $3, $4::text[], $5)
returning id, name, prefix, scopes, created_by, created_at
