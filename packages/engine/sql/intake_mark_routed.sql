-- intake_mark_routed: events $1 (bigint[]) were routed again (a replay) and made $2[i] jobs:
-- their status follows the new jobs from now on.
update {{schema}}.events e
set routed_at = now(), jobs_created = x.jobs, replays = e.replays + 1
from unnest($1::bigint[], $2::int[]) as x(id, jobs)
where e.id = x.id
