-- schedule_list: every schedule, by name.
select * from {{schema}}.schedules order by name
