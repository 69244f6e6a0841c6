-- intake_delete_source: remove source $1 and its recent rejections; with $2 true (an API call)
-- a source the config file manages is left alone. Its events stay until retention.
-- Returns the name when it was removed.
with gone as (
  delete from {{schema}}.sources
  where name = $1 and not ($2::boolean and managed_by = 'config')
  returning name
),
rejections as (
  delete from {{schema}}.intake_rejections r using gone where r.source = gone.name
)
select name from gone
