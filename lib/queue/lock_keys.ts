/**
 * Every advisory-lock key the project takes, in one place so that no two
 * uses share one by accident. Two are taken inside SQL functions that
 * migrations created (a migration is never edited, so the number is written
 * there too); a test checks the migrations still say the same.
 */

/** Serialises migration runs (transaction lock, one per file, `lib/migrate.ts`). */
export const MIGRATION_LOCK_KEY = 7_245_001;

/** The status-count compaction's turn (`job_status_compact()`, migration 0002). */
export const STATUS_COUNT_COMPACTION_LOCK_KEY = 7_245_003;

/** Makes the rescuer a singleton across processes (transaction lock, `rescue.ts`). */
export const RESCUER_LOCK_KEY = 7_245_004;

/** The trend-count compaction's turn (`job_trend_compact()`, migration 0004). */
export const TREND_COMPACTION_LOCK_KEY = 7_245_005;

/** Each pruner batch's turn, so pruners take turns (transaction lock, `prune.ts`). */
export const PRUNE_LOCK_KEY = 7_245_010;

/** Makes the scheduler's pass a singleton across processes (transaction lock, `schedule_tick.ts`). */
export const SCHEDULER_LOCK_KEY = 7_245_011;

/** Makes the expirer a singleton across processes (transaction lock, `expire.ts`). */
export const EXPIRER_LOCK_KEY = 7_245_017;
/**
 * First key of each limited queue's claim lock (transaction lock, the second
 * key is `hashtext(queue name)`; `queue_claim_slots()`, migration 0006).
 */
export const QUEUE_CLAIM_LOCK_KEY = 7_245_020;

/** Makes the alert evaluation a singleton across processes (transaction lock, `alerts.ts`). */
export const ALERTS_LOCK_KEY = 7_245_041;

/**
 * One search indexer pass at a time across processes (transaction lock,
 * `search_index.ts`); deletions of jobs take it shared (`job_search_delete()`,
 * migration 0016).
 */
export const SEARCH_INDEX_LOCK_KEY = 7_245_042;
