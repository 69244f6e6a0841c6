-- audit_rewrite_allow: lifts the append-only trigger of audit_log for this transaction only
-- (audit expiry; audit_rewrite_refuse puts it back before commit). The lock it takes (share row
-- exclusive) keeps every other writer out until the transaction ends.
alter table {{schema}}.audit_log disable trigger audit_log_no_rewrite
