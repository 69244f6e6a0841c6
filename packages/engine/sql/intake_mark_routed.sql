-- intake_mark_routed: events $1 (bigint[]) were routed again (a replay) and made $2[i] jobs:
-- their status follows the new jobs from now on. `e.id = any($1)` finds them by primary key
-- however small the table was when this statement's plan was cached (decision 008); the join
-- only pairs each with its count.
update {{schema}}.events e
set routed_at = now(), jobs_created = x.jobs, replays = e.replays + 1
from unnest($1::bigint[], $2::int[]) as x(id, jobs)
where e.id = any($1::bigint[]) and e.id = x.id
