-- keel:additive — a nullable column older code never reads
-- 0009: a queue's HTTP attempt timeout. Null: the deliverer's default (30 s). A job's target
-- `timeoutMs` wins over it (decision 028). Additive: older processes never read the column.
alter table queues add column delivery_timeout_ms integer
  check (delivery_timeout_ms is null or delivery_timeout_ms between 1000 and 3600000);
