-- schedule_clock: the database clock (the transaction's start), the one time schedules use.
select now() as now
