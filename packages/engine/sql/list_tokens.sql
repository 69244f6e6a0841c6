-- list_tokens: every token without its hash, newest first.
select id, name, prefix, scopes, created_by, created_at, last_used_at, revoked_by, revoked_at
from {{schema}}.tokens
order by id desc
