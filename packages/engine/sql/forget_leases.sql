-- forget_leases: delete the job_leases rows $1 (uuid[]) whose jobs have all ended in the worker
-- that claimed them: committed, or their lease found lost (decision 087).
delete from {{schema}}.job_leases where id = any($1::uuid[])
