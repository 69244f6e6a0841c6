-- schedule_delete: remove schedule $1 (its runs stay, so its slots can never repeat).
delete from {{schema}}.schedules where name = $1 returning name
