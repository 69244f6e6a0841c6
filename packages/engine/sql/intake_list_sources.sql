-- intake_list_sources: every source by name, or only source $1.
select *
from {{schema}}.sources
where $1::text is null or name = $1
order by name
