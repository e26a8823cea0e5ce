/**
 * The zod schemas of the JSON API: request bodies and query strings (used by
 * the route modules to validate) and response shapes (used by the OpenAPI
 * document). One source for both, so the document cannot drift from the code.
 */
import { z } from "zod";
import {
  createJobSchema,
  hasUnstorableChars,
  JOB_TYPE_NAMES,
  priority,
  queueName,
} from "./jobs/mod.ts";
import { EXPLAIN_CODES, JOB_STATUSES, SORT_COLUMNS, UUID_RE } from "./job_constants.ts";
import { EVENT_KINDS } from "./queue/types.ts";
import { EXPORT_FORMATS } from "./http/export_stream.ts";

export { UUID_RE };

/** Most jobs in one batch, and most ids in one bulk action. */
export const MAX_BATCH = 1000;

/** A job id (uuid), as bodies name jobs. */
export const jobId = z.string({ error: "expected a job id (uuid)" }).regex(
  UUID_RE,
  "expected a job id (uuid)",
);

const storableText = (label: string, max: number) =>
  z.string({ error: `${label} must be text` }).min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`)
    .refine((s) => !hasUnstorableChars(s), `${label} contains a NUL byte or an invalid character`);

/** Body of `POST /api/jobs` (the shared job-type schemas, strict). */
export const createJobBody = createJobSchema;

/** A batch body of `job` items (1–1000); the document passes its registered job schema. */
export const batchOf = <T extends z.ZodType>(job: T) =>
  z.strictObject({
    jobs: z.array(job, { error: "jobs must be an array of jobs" })
      .min(1, "jobs needs at least one job")
      .max(MAX_BATCH, `jobs may hold at most ${MAX_BATCH} jobs`),
  });

/** Body of `POST /api/jobs/batch`: 1–1000 jobs, stored all or none. */
export const batchBody = batchOf(createJobSchema);

/** Body of `POST /api/process` (optional as a whole). */
export const processBody = z.strictObject({
  worker: storableText("worker", 128).optional(),
  types: z.array(
    z.enum(JOB_TYPE_NAMES, { error: `types must name ${JOB_TYPE_NAMES.join(", ")}` }),
    { error: "types must be an array of job types" },
  ).min(1, "types needs at least one type").max(JOB_TYPE_NAMES.length * 2).optional(),
  queues: z.array(queueName("queues"), { error: "queues must be an array of queue names" })
    .min(1, "queues needs at least one queue").max(50, "queues may name at most 50 queues")
    .optional(),
});

/** Zod's error for a field: `missing` when it is absent, else `wrong`. */
const requiredError = (missing: string, wrong: string) => (iss: { input: unknown }) =>
  iss.input === undefined ? missing : wrong;

/**
 * The attempt a complete/fail call finishes, as `/api/process` returned it:
 * `worker` is its `locked_by`, `attempt` its `attempts`. Both are required.
 */
const fence = {
  worker: z.string({
    error: requiredError(
      "worker is required: the locked_by that /api/process returned",
      "worker must be text",
    ),
  }).min(1, "worker is required").max(128, "worker must be at most 128 characters")
    .refine((s) => !hasUnstorableChars(s), "worker contains a NUL byte or an invalid character"),
  attempt: z.number({
    error: requiredError(
      "attempt is required: the attempts that /api/process returned",
      "attempt must be a whole number",
    ),
  }).int("attempt must be a whole number").min(1, "attempt must be at least 1")
    .max(100, "attempt must be at most 100"),
};

/** Body of `POST /api/complete/:id`: the job's result (any JSON, default null) and the fence. */
export const completeBody = z.strictObject({
  result: z.unknown().optional(),
  ...fence,
});

/** Body of `POST /api/fail/:id`: the attempt's error and the fence; `permanent` skips retries. */
export const failBody = z.strictObject({
  error: z.union([
    storableText("error", 100_000),
    z.record(z.string(), z.unknown()),
  ], { error: "error must be text or an object" }),
  permanent: z.boolean({ error: "permanent must be true or false" }).optional(),
  ...fence,
});

/** A body that must be absent or `{}` (cancel, schedule delete and run). */
export const emptyBody = z.strictObject({});

/**
 * Body of `POST /api/jobs/:id/retry` (optional as a whole): what to change
 * before the job goes back to pending. `payload` is checked against the
 * job's type once the job is read (lib/queue/retry.ts); `priority` and
 * `queue` follow the rules of `POST /api/jobs`.
 */
export const retryBody = z.strictObject({
  payload: z.record(z.string(), z.unknown(), { error: "payload must be an object" }).optional()
    .describe("the new payload, checked with the job type's schema as on create"),
  priority: priority.optional().describe("the new priority (1–5)"),
  queue: queueName().optional().describe("the new queue"),
});
export type RetryBody = z.infer<typeof retryBody>;

const intParam = (label: string, min: number, max: number) =>
  z.number({ error: `${label} must be a whole number from ${min} to ${max}` })
    .int(`${label} must be a whole number from ${min} to ${max}`)
    .min(min, `${label} must be at least ${min}`).max(max, `${label} must be at most ${max}`);

/** Query of `GET /api/jobs`; `status`, `type`, `priority` may repeat (any of). */
export const listQuery = z.strictObject({
  status: z.array(
    z.enum(JOB_STATUSES, { error: `status must be one of ${JOB_STATUSES.join(", ")}` }),
  ).max(JOB_STATUSES.length * 2).optional(),
  type: z.array(
    z.enum(JOB_TYPE_NAMES, { error: `type must be one of ${JOB_TYPE_NAMES.join(", ")}` }),
  )
    .max(JOB_TYPE_NAMES.length * 2).optional(),
  priority: z.array(intParam("priority", 1, 5)).max(10).optional(),
  queue: z.array(queueName()).max(50, "queue may name at most 50 queues").optional(),
  q: z.string().max(200, "q must be at most 200 characters")
    .refine((s) => !hasUnstorableChars(s), "q contains a NUL byte or an invalid character")
    .optional(),
  sort: z.enum(SORT_COLUMNS, { error: `sort must be one of ${SORT_COLUMNS.join(", ")}` })
    .optional(),
  order: z.enum(["asc", "desc"], { error: "order must be asc or desc" }).optional(),
  limit: intParam("limit", 1, 100).optional(),
  offset: intParam("offset", 0, 1_000_000_000).optional(),
});

/**
 * Query of `GET /api/jobs/export`: `format` (required) and the list's filters
 * and order, with the list's rules; `limit` and `offset` are refused (an
 * export is every matching job).
 */
export const exportQuery = listQuery.omit({ limit: true, offset: true }).extend({
  format: z.enum(EXPORT_FORMATS, {
    error: (iss) =>
      iss.input === undefined
        ? `format is required: ${EXPORT_FORMATS.join(" or ")}`
        : `format must be ${EXPORT_FORMATS.join(" or ")}`,
  }),
});

/** Query of `GET /api/stats/trend`. */
export const trendQuery = z.strictObject({
  hours: intParam("hours", 1, 720).optional()
    .describe("hours back from now (default 24); with bucket=minute at most 48, else 422"),
  bucket: z.enum(["minute", "hour"], { error: "bucket must be minute or hour" }).optional(),
}).refine((q) => q.bucket !== "minute" || (q.hours ?? 24) <= 48, {
  message: "minute buckets cover at most 48 hours",
  path: ["hours"],
});

/** Path parameter `:name` of `/api/queues/:name`. */
export const queueParam = queueName("name");

/**
 * Body of `PATCH /api/queues/:name`: at least one of `paused` and
 * `concurrency` (a whole number ≥ 1, or null to clear the limit; 0 is
 * refused: pause the queue instead).
 */
export const queuePatchBody = z.strictObject({
  paused: z.boolean({ error: "paused must be true or false" }).optional(),
  concurrency: z.number({ error: "concurrency must be a whole number from 1 to 100000, or null" })
    .int("concurrency must be a whole number")
    .min(1, "concurrency must be at least 1 (to stop a queue, pause it)")
    .max(100_000, "concurrency must be at most 100000")
    .nullable().optional(),
}).refine((b) => b.paused !== undefined || b.concurrency !== undefined, {
  message: "give paused, concurrency or both",
});

/** A query that takes no parameters. */
export const noQuery = z.strictObject({});

/**
 * Query of `GET /api/events`: only the id of the last message seen, which a
 * reconnecting EventSource may send (as the `Last-Event-ID` header, or this
 * parameter where headers cannot be set). Nothing is replayed: `ready` tells
 * the client to refetch.
 */
export const eventsQuery = z.strictObject({
  lastEventId: z.string().max(64, "lastEventId must be at most 64 characters")
    .refine((s) => !hasUnstorableChars(s), "lastEventId contains an invalid character")
    .optional(),
});

/** Query parameters that are text even when they look like numbers. */
const TEXT_PARAMS = new Set(["q", "sort", "order", "bucket", "lastEventId"]);

/**
 * Query parameters that may list several values: comma-separated (the
 * canonical form, `status=pending,failed`) or repeated; the others must
 * appear at most once.
 */
const REPEATABLE = new Set(["status", "type", "priority", "queue"]);

/**
 * Turns URL query parameters into the plain object the query schemas
 * expect: repeatable ones become arrays (also split on commas), whole
 * numbers become numbers, and a repeated single-valued parameter stays an
 * array so the schema reports it.
 */
export function queryObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const num = (s: string) => (/^-?\d{1,15}$/.test(s) ? Number(s) : s);
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    if (REPEATABLE.has(key)) {
      out[key] = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean)
        .map((v) => key === "priority" ? num(v) : v);
    } else if (values.length > 1) {
      out[key] = values;
    } else {
      out[key] = TEXT_PARAMS.has(key) ? values[0] : num(values[0]);
    }
  }
  return out;
}

// ---- Response shapes (documentation) ----

/** An ISO 8601 instant with its offset, as answers carry them. */
export const instant = z.iso.datetime({ offset: true });

/** A job as stored (snake_case columns). */
export const jobResponse = z.object({
  id: z.uuid(),
  type: z.enum(JOB_TYPE_NAMES),
  status: z.enum(JOB_STATUSES),
  priority: z.int().min(1).max(5),
  payload: z.record(z.string(), z.unknown()),
  result: z.unknown().nullable().nonoptional(),
  error: z.string().nullable(),
  attempts: z.int().min(0),
  max_attempts: z.int().min(1).max(100),
  created_at: instant,
  updated_at: instant,
  scheduled_for: instant,
  started_at: instant.nullable(),
  completed_at: instant.nullable(),
  locked_by: z.string().nullable(),
  locked_until: instant.nullable(),
  queue: z.string(),
  unique_key: z.string().nullable(),
  progress: z.object({
    percent: z.number().min(0).max(100),
    message: z.string().nullable(),
    at: instant,
  }).nullable(),
  cancel_requested_at: instant.nullable(),
  timeout_seconds: z.int().min(1).nullable(),
  expires_at: instant.nullable(),
});

/** Why a job is not running. */
export const explainResponse = z.object({
  code: z.enum(EXPLAIN_CODES),
  message: z.string(),
  until: instant.optional(),
  details: z.record(z.string(), z.unknown()),
});

/** One row of a job's timeline. */
export const jobEventResponse = z.object({
  id: z.int(),
  job_id: z.uuid(),
  at: instant,
  kind: z.enum(EVENT_KINDS),
  attempt: z.int(),
  worker: z.string().nullable(),
  message: z.string().nullable(),
  data: z.record(z.string(), z.unknown()).nullable().describe(
    "what the event keeps besides its message; null but for `edited`: " +
      "`{changed: [field…], previous: {payload, priority, queue}}`, the values before the edit",
  ),
});

/** A page of jobs. */
export const jobPageResponse = z.object({
  items: z.array(jobResponse),
  total: z.int().min(0),
  limit: z.int().min(1).max(100),
  offset: z.int().min(0),
});

/** Counts by status, plus the total. */
export const statsResponse = z.object(
  Object.fromEntries([...JOB_STATUSES, "total"].map((s) => [s, z.int().min(0)])),
);

/** Created / completed / failed per bucket. */
export const trendResponse = z.object({
  hours: z.int(),
  bucket: z.enum(["minute", "hour"]),
  points: z.array(z.object({
    bucket: instant,
    created: z.int(),
    completed: z.int(),
    failed: z.int(),
  })),
});

/** A schedule as stored (`GET /api/schedules/:name`). */
export const scheduleResponse = z.object({
  name: z.string(),
  cron: z.string(),
  timezone: z.string(),
  type: z.enum(JOB_TYPE_NAMES),
  payload: z.record(z.string(), z.unknown()),
  priority: z.int().min(1).max(5),
  queue: z.string().nullable().describe("the job's queue; null: the type's default (`default`)"),
  max_attempts: z.int().min(1).max(100),
  enabled: z.boolean(),
  last_run_at: instant.nullable().describe("the tick last enqueued by the scheduler"),
  next_run_at: instant.nullable().describe("the next tick; null while disabled"),
  last_job_id: z.uuid().nullable().describe(
    "the job last enqueued (a tick or run now); it may since have been pruned",
  ),
  source: z.enum(["api", "file"]).describe(
    "`file`: declared in SCHEDULES_FILE, which wins; only `enabled` can be changed here",
  ),
  created_at: instant,
  updated_at: instant,
});

/** Every schedule. */
export const scheduleListResponse = z.object({ items: z.array(scheduleResponse) });

/** A queue: its settings and its jobs per status. */
export const queueResponse = z.object({
  name: z.string(),
  concurrency: z.int().min(1).nullable()
    .describe("most jobs of this queue running at once across all workers; null = unlimited"),
  paused: z.boolean().describe("claims skip a paused queue; its running jobs finish"),
  created_at: instant,
  updated_at: instant,
  counts: z.object(Object.fromEntries(JOB_STATUSES.map((st) => [st, z.int().min(0)]))),
});

/** Every queue. */
export const queueListResponse = z.object({ items: z.array(queueResponse) });

/** The error envelope of every `/api` error. */
export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    request_id: z.string().optional(),
  }),
});
