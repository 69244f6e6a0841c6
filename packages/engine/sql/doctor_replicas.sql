-- doctor_replicas: live `keel start` processes on this database, by role: each one keeps exactly
-- one availability probe connection, named `keel-<role>:probe` (operator commands use `keel-cli`).
select substr(application_name, 6, length(application_name) - 11) as role, count(*)::int as processes
from pg_stat_activity
where datname = current_database()
  and application_name in ('keel-all:probe', 'keel-api:probe', 'keel-worker:probe', 'keel-scheduler:probe')
group by 1
order by 1
