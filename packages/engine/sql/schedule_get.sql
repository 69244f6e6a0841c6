-- schedule_get: schedule $1.
select * from {{schema}}.schedules where name = $1
