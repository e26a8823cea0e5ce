/**
 * The bulk actions' request and answer shapes (`POST /api/jobs/bulk` by ids
 * or by filter, with its dry run, and `POST /api/jobs/bulk/undo`), built on
 * the list's filters in lib/api_schemas.ts.
 */
import { z } from "zod";
import { instant, jobId, listQuery, MAX_BATCH } from "./api_schemas.ts";
import { JOB_STATUSES, UUID_RE } from "./job_constants.ts";
import { BULK_ACTIONS, isEmptyFilter } from "./queue/bulk.ts";

/** The list filters a bulk action by filter takes (as in `GET /api/jobs`, JSON arrays for the lists). */
export const bulkFilter = z.strictObject({
  status: listQuery.shape.status,
  type: listQuery.shape.type,
  priority: listQuery.shape.priority,
  queue: listQuery.shape.queue,
  q: listQuery.shape.q,
}, { error: "filter must be an object of status, type, priority, queue and q" });

/**
 * Body of `POST /api/jobs/bulk`: `action` with either `ids` (1–1000) or
 * `filter` (the list's filters; `{}` matches every job, which `delete` takes
 * only with `all: true`), and with a filter optionally `dry_run`.
 */
export const bulkBody = z.strictObject({
  action: z.enum(BULK_ACTIONS, { error: `action must be one of ${BULK_ACTIONS.join(", ")}` }),
  ids: z.array(jobId, { error: "ids must be an array of job ids" })
    .min(1, "ids needs at least one id")
    .max(MAX_BATCH, `ids may hold at most ${MAX_BATCH} ids`).optional(),
  filter: bulkFilter.optional(),
  dry_run: z.boolean({ error: "dry_run must be true or false" }).optional(),
  all: z.boolean({ error: "all must be true or false" }).optional(),
}).superRefine((b, ctx) => {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  if (b.ids === undefined && b.filter === undefined) {
    issue("ids", "give ids (job ids) or filter (the list's filters)");
  }
  if (b.ids !== undefined && b.filter !== undefined) {
    issue("filter", "give ids or filter, not both");
  }
  if (b.ids !== undefined && b.dry_run !== undefined) issue("dry_run", "dry_run goes with filter");
  if (b.ids !== undefined && b.all !== undefined) issue("all", "all goes with filter");
  if (
    b.action === "delete" && b.filter !== undefined && isEmptyFilter(b.filter) && b.all !== true
  ) {
    issue("filter", 'an empty filter matches every job: to delete them all, say "all": true');
  }
});

/** Body of `POST /api/jobs/bulk/undo`. */
export const bulkUndoBody = z.strictObject({
  undo_id: z.string({ error: "undo_id is required: the undo.id a bulk cancel or retry returned" })
    .regex(UUID_RE, "undo_id must be the undo.id a bulk cancel or retry returned (a uuid)"),
});

// ---- Response shapes (documentation) ----

/** An undo on offer after a bulk cancel or retry. */
export const undoOffer = z.object({
  id: z.uuid().describe("give it to POST /api/jobs/bulk/undo"),
  expires_at: instant.describe("the offer ends then (a minute after the action)"),
});

/** What a bulk action did to each id. */
export const bulkResponse = z.object({
  action: z.enum(BULK_ACTIONS),
  results: z.array(z.object({
    id: z.uuid(),
    outcome: z.enum(["done", "not_found", "conflict"]),
    status: z.enum(JOB_STATUSES).nullable(),
  })),
  summary: z.object({ done: z.int(), not_found: z.int(), conflict: z.int() }),
  undo: undoOffer.optional().describe("a cancel or retry that changed a job pending or failed"),
});

/** What a bulk action by filter did. */
export const bulkFilterResponse = z.object({
  action: z.enum(BULK_ACTIONS),
  count: z.int().min(0).describe("jobs changed"),
  matched: z.int().min(0).describe(
    "jobs that matched, in a status the action applies to, when it started",
  ),
  skipped: z.int().min(0).describe("matched but moved on before their batch: left alone"),
  undo: undoOffer.optional(),
});

/** A bulk dry run: how many jobs the action would change now. */
export const bulkDryRunResponse = z.object({
  action: z.enum(BULK_ACTIONS),
  count: z.int().min(0),
  dry_run: z.literal(true),
});

/** What an undo did. */
export const bulkUndoResponse = z.object({
  action: z.enum(["cancel", "retry"]).describe("the action taken back"),
  restored: z.int().min(0).describe("jobs put back as they were"),
  moved_on: z.int().min(0).describe("jobs changed since the action (or gone): left alone"),
});
