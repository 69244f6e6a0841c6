-- queue_names: every queue's name, in order.
select name from {{schema}}.queues order by name
