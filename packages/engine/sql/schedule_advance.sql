-- schedule_advance: move schedules' cursors, $1 a jsonb array of {name, next_fire_at}.
update {{schema}}.schedules s
set next_fire_at = x.next_fire_at
from jsonb_to_recordset($1::jsonb) as x(name text, next_fire_at timestamptz)
where s.name = x.name
