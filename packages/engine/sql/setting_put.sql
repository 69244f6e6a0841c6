-- setting_put: sets setting $1 to $2 (null removes it); the value before, and whether it changed.
with before as (select value from {{schema}}.settings where key = $1),
removed as (
  delete from {{schema}}.settings where key = $1 and $2::text is null
),
stored as (
  insert into {{schema}}.settings (key, value)
  select $1, $2 where $2::text is not null
  on conflict (key) do update set value = excluded.value
)
select (select value from before) as previous,
       (select value from before) is distinct from $2::text as changed
