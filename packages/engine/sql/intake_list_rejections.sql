-- intake_list_rejections: the newest $2 refused requests of source $1.
select id, source, at, reason, detail, headers, body_size, request_id
from {{schema}}.intake_rejections
where source = $1
order by id desc
limit $2
