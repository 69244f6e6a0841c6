-- keel:additive — a storage parameter; no statement's result changes
-- 0022 (decision 063): room on each page of idempotency_keys for a key's second row version.
-- Every keyed request inserts its key (started) and then updates it with the stored response;
-- on a full page that update cannot stay on the page (HOT), so it writes a new entry into both
-- indexes as well. Rows are written once more and deleted when they expire.
alter table idempotency_keys set (fillfactor = 50);
