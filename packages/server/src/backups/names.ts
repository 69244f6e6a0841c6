// The names backups and drills use as Keel jobs (decision 048), kept apart so the config
// checks can read them without loading the backup code.

/** The queue backups and drills run in as Keel jobs (decision 048). */
export const BACKUP_QUEUE = "keel.backups";
/** The built-in handlers of that queue. */
export const BACKUP_HANDLER = "keel.backup";
export const DRILL_HANDLER = "keel.drill";
/** The config-managed schedules `backups.schedule` and `backups.drills.schedule` become. */
export const BACKUP_SCHEDULE = "keel.backup";
export const DRILL_SCHEDULE = "keel.backup-drill";
/** Names the config's own `schedules:` may not use. */
export const RESERVED_SCHEDULES = [BACKUP_SCHEDULE, DRILL_SCHEDULE];
