-- doctor_sessions: other sessions of this database that hold back vacuum: idle in a transaction
-- for more than $1 seconds, or in a transaction open for more than $2 seconds.
select pid, application_name, state,
       extract(epoch from clock_timestamp() - xact_start)::float8 as transaction_seconds,
       extract(epoch from clock_timestamp() - state_change)::float8 as state_seconds
from pg_stat_activity
where datname = current_database()
  and pid <> pg_backend_pid()
  and xact_start is not null
  and ((state like 'idle in transaction%' and state_change < clock_timestamp() - make_interval(secs => $1))
       or xact_start < clock_timestamp() - make_interval(secs => $2))
order by xact_start
limit 20
