-- audit_rewrite_refuse: puts the append-only trigger of audit_log back (see audit_rewrite_allow).
alter table {{schema}}.audit_log enable trigger audit_log_no_rewrite
