-- console_session_touch: the live session whose hash is $1 (not revoked, before its absolute
-- expiry, seen within its idle window), marking it seen — at most every 10 seconds, so a page
-- with its assets does not write a row version per request. No row when there is none.
with hit as (
  select id, role, actor, hash, created_at, expires_at, last_seen_at
  from {{schema}}.console_sessions
  where hash = $1 and revoked_at is null and expires_at > now()
    and last_seen_at > now() - make_interval(secs => idle_seconds)
),
touch as (
  update {{schema}}.console_sessions s set last_seen_at = now()
  from hit
  where s.id = hit.id and hit.last_seen_at < now() - interval '10 seconds'
)
select id, role, actor, hash, created_at, expires_at from hit
