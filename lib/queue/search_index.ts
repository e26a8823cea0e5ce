/**
 * The search indexer's pass: writes the `job_search` rows of the jobs that
 * enqueues noted in `job_search_tail` (migration 0016), one process in the
 * cluster at a time. Until a job is indexed the search reads it from the
 * tail directly (see `list.ts`), so indexing changes how fast a search is,
 * never what it finds.
 */
import type { Sql, TxSql } from "../db.ts";
import { SEARCH_INDEX_LOCK_KEY } from "./lock_keys.ts";

/** Default of `limit` in {@link indexSearchPass}: tail rows (up to 1,000 jobs each) per pass. */
export const SEARCH_INDEX_BATCH = 20;

/** What one pass did. */
export interface SearchIndexPass {
  /** False when another process held the indexer's lock (or a deletion was running): nothing done. */
  ran: boolean;
  /** Tail rows taken (each one inserting statement's jobs, up to 1,000). */
  batches: number;
  /** Search rows written (jobs deleted meanwhile, and jobs an edit indexed first, are not counted). */
  indexed: number;
  /** Whether tail rows are left after this pass. */
  more: boolean;
}

/**
 * One pass in its own transaction: takes the indexer's advisory lock without
 * waiting (held elsewhere: `ran: false`), then takes the `limit` oldest tail
 * rows and, in the same statement, deletes them and inserts their jobs'
 * search rows. All or nothing: a crash leaves the tail as it was. Ids whose
 * job is gone are dropped; a job already indexed (an edit wrote its row) is
 * left as it is. An empty tail does nothing (`batches: 0`).
 */
export async function indexSearchPass(
  sql: Sql,
  opts: { limit?: number } = {},
): Promise<SearchIndexPass> {
  const limit = opts.limit ?? SEARCH_INDEX_BATCH;
  return await sql.begin(async (tx: TxSql) => {
    const [{ ok }] = await tx<{ ok: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(${SEARCH_INDEX_LOCK_KEY}) AS ok`;
    if (!ok) return { ran: false, batches: 0, indexed: 0, more: false };
    // Locks: the tail rows taken (no one else deletes them: the lock above);
    // the new search rows. Index: job_search_tail_pkey (oldest first, so a
    // row is never passed over for long), job_pkey per id, job_search_pkey
    // for the conflict check. The text is jobq_search_text(payload), inline.
    const [r] = await tx<{ batches: number; indexed: number; more: boolean }[]>`
      WITH taken AS (
        DELETE FROM job_search_tail
        WHERE id IN (SELECT id FROM job_search_tail ORDER BY id LIMIT ${limit})
        RETURNING job_ids
      ), ins AS (
        INSERT INTO job_search (job_id, queue, body)
        SELECT j.id, j.queue, array_to_string(ARRAY(
          SELECT v #>> '{}'
          FROM jsonb_path_query(j.payload, 'strict $.** ? (@.type() != "object" && @.type() != "array")') AS v
        ), E'\n')
        FROM (SELECT unnest(job_ids) AS id FROM taken) AS t JOIN job j ON j.id = t.id
        ON CONFLICT (job_id) DO NOTHING
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM taken)::int AS batches, (SELECT count(*) FROM ins)::int AS indexed,
             EXISTS (SELECT 1 FROM job_search_tail OFFSET ${limit}) AS more`;
    return { ran: true, ...r };
  }) as SearchIndexPass;
}

/**
 * Passes of {@link indexSearchPass} until the tail is empty (or another
 * process holds the lock); returns the jobs indexed. For bulk loads that
 * want their search rows at once, and tests.
 */
export async function indexSearchTail(sql: Sql, opts: { limit?: number } = {}): Promise<number> {
  let total = 0;
  for (;;) {
    const p = await indexSearchPass(sql, opts);
    total += p.indexed;
    if (!p.ran || !p.more) return total;
  }
}
