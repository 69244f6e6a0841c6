-- schedule_lock: schedule $1, locked until the transaction ends (waits for a scheduler).
select * from {{schema}}.schedules where name = $1 for update
