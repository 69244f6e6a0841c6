-- intake_answer: the answer of an intake statement, one row per event of the batch: its index,
-- its id (null only when the key was stored by a transaction that committed after the statement
-- began), inserted, and refused. Included by intake_accept and intake_accept_plain. Not a statement.
-- Expects the CTEs ev, refusal and stored (intake_store_events).
-- An event stored before is looked up by its key, one row at a time: a join with the events
-- table let the planner scan all of it (a hash join), a cost that grew with every event stored.
select ev.ev::int as ev,
       coalesce(s.id, (select e.id from {{schema}}.events e
                       where e.source = ev.source and e.event_id = ev.event_id)) as id,
       s.id is not null as inserted,
       (select refused from refusal) as refused
from ev
left join stored s on s.source = ev.source and s.event_id = ev.event_id
order by ev.ev
