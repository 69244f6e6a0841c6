-- disabled_switches: which of switches $1 (text[]) are off.
select name from {{schema}}.switches where name = any($1::text[]) and not enabled
