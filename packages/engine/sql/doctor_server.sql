-- doctor_server: the Postgres server as `keel doctor` reads it: version, connection limits,
-- autovacuum settings, whether this connection uses TLS, and the database clock.
select current_setting('server_version_num')::int as version_num,
       current_setting('server_version') as version,
       current_setting('max_connections')::int as max_connections,
       current_setting('superuser_reserved_connections')::int as reserved_connections,
       (select count(*) from pg_stat_activity)::int as connections,
       current_setting('autovacuum') = 'on' as autovacuum,
       current_setting('track_counts') = 'on' as track_counts,
       coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false) as ssl,
       clock_timestamp() as now
