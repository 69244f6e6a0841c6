-- keel:additive — one nullable column; older code neither reads nor writes it
-- 0014: a drill keeps the target it drilled (app, keel) on its own row, so the per-target
-- metrics and history survive `keep` deleting the backup it restored (backup_id becomes null).
alter table backup_drills add column target text;
update backup_drills d set target = b.target from backups b where b.id = d.backup_id;
create index backup_drills_target_finished on backup_drills (target, finished_at desc);
