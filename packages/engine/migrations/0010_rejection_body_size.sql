-- keel:breaking — node-pg returns bigint as a string, so older code listed rejections with a string bodySize
-- 0010: a refused webhook's body size as bigint. It is the declared content-length when that is
-- over the source's limit (the body is not read), and a client may declare anything: 10 GB
-- overflowed integer, and the rejection was lost. Rows are few (100 per source): the rewrite is
-- instant. Processes of the previous version keep writing (int fits in bigint).
alter table intake_rejections alter column body_size type bigint;
