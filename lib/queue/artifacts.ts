/** Files made by jobs (reports), stored in `job_artifact`. */
import type { Sql } from "../db.ts";

/** A stored file. */
export interface Artifact {
  job_id: string;
  filename: string;
  content_type: string;
  bytes: Uint8Array;
  created_at: Date;
}

/** Stores (or replaces, on a re-run) the job's file. */
export async function put(sql: Sql, opts: {
  jobId: string;
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}): Promise<void> {
  await sql`
    INSERT INTO job_artifact (job_id, filename, content_type, bytes)
    VALUES (${opts.jobId}, ${opts.filename}, ${opts.contentType}, ${opts.bytes})
    ON CONFLICT (job_id) DO UPDATE SET filename = EXCLUDED.filename, content_type = EXCLUDED.content_type,
      bytes = EXCLUDED.bytes, created_at = now()`;
}

/** The job's file, or `null`. */
export async function get(sql: Sql, opts: { jobId: string }): Promise<Artifact | null> {
  const [row] = await sql<Artifact[]>`SELECT * FROM job_artifact WHERE job_id = ${opts.jobId}`;
  return row ?? null;
}
