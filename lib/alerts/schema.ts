/**
 * The zod schemas of alert rules, shared by the API and the `/alerts` page.
 * Browser-safe (zod and the job-type registry).
 *
 * Which fields a rule takes depends on its kind (`threshold` is percent,
 * jobs or seconds; `window_minutes` only for a failure rate; `type` only for
 * a failure rate or a backlog; no threshold for `no_worker`); every field and
 * every kind rule is checked in the same pass, so a refused rule lists every
 * problem at once, each under its field.
 */
import { z } from "zod";
import { JOB_TYPE_NAMES } from "../jobs/mod.ts";
import { QUEUE_NAME_RE } from "../job_constants.ts";

/** The kinds of rule. */
export const ALERT_KINDS = ["failure_rate", "backlog", "oldest_pending", "no_worker"] as const;
export type AlertKind = typeof ALERT_KINDS[number];

/** What a kind watches, in words (the page's select and the docs). */
export const KIND_LABELS: Record<AlertKind, string> = {
  failure_rate: "Failure rate above X % over N minutes",
  backlog: "Backlog (pending jobs) above N",
  oldest_pending: "Oldest due pending job older than T seconds",
  no_worker: "No live worker serving the queue",
};

/** The largest threshold of a backlog (jobs) and of the oldest pending age (seconds, 30 days). */
export const MAX_BACKLOG = 1_000_000_000;
export const MAX_AGE_SECONDS = 2_592_000;
/** The longest failure-rate window (minutes, a week). */
export const MAX_WINDOW_MINUTES = 10_080;

const nameField = z.string({ error: "name must be text" })
  .min(1, "name must not be empty").max(100, "name must be at most 100 characters")
  // deno-lint-ignore no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, "name must not contain control characters")
  .refine((v) => v.trim() === v, "name must not start or end with spaces");
const kindField = z.enum(ALERT_KINDS, { error: `kind must be one of ${ALERT_KINDS.join(", ")}` });
const queueField = z.string({ error: "queue must be text or null" }).regex(
  QUEUE_NAME_RE,
  "queue must start with a lower-case letter and hold only a-z, 0-9, _ and - (at most 63)",
).nullable();
const typeField = z.enum(JOB_TYPE_NAMES, {
  error: `type must be one of ${JOB_TYPE_NAMES.join(", ")}, or null`,
}).nullable();
const thresholdField = z.number({ error: "threshold must be a number or null" }).nullable();
const windowField = z.number({ error: "window_minutes must be a whole number or null" })
  .int("window_minutes must be a whole number")
  .min(1, "window_minutes must be at least 1")
  .max(MAX_WINDOW_MINUTES, `window_minutes must be at most ${MAX_WINDOW_MINUTES} (a week)`)
  .nullable();
const enabledField = z.boolean({ error: "enabled must be true or false" });

const fields = {
  name: nameField.describe("a unique name, 1–100 characters"),
  kind: kindField.describe(
    "failure_rate | backlog | oldest_pending | no_worker (what the rule measures)",
  ),
  queue: queueField.optional().describe("the queue it watches (null or absent: every queue)"),
  type: typeField.optional().describe(
    "the job type it watches (failure_rate and backlog only; null or absent: every type)",
  ),
  threshold: thresholdField.optional().describe(
    "fires above it: percent (failure_rate, 0 ≤ x < 100), pending jobs (backlog, whole), " +
      "seconds (oldest_pending, whole, ≥ 1); absent or null for no_worker",
  ),
  window_minutes: windowField.optional().describe(
    "failure_rate only: the window the rate is computed over (1–10080)",
  ),
  enabled: enabledField.optional().describe("default true"),
};

/** A rule's fields, before the kind rules (`kind` known). */
type RuleFields = {
  kind?: unknown;
  type?: unknown;
  threshold?: unknown;
  window_minutes?: unknown;
};

/** Adds an issue for each field the rule's kind refuses or needs. */
function checkKind(v: RuleFields, ctx: z.RefinementCtx): void {
  const kind = v?.kind;
  if (typeof kind !== "string" || !(ALERT_KINDS as readonly string[]).includes(kind)) return;
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", message, path: [path] });
  const t = v.threshold;
  const has = (x: unknown) => x !== undefined && x !== null;
  if (has(v.type) && kind !== "failure_rate" && kind !== "backlog") {
    issue("type", "type applies only to failure_rate and backlog rules");
  }
  if (kind === "failure_rate") {
    if (!has(v.window_minutes)) {
      issue("window_minutes", "window_minutes is required for a failure_rate rule");
    }
  } else if (has(v.window_minutes)) {
    issue("window_minutes", "window_minutes applies only to failure_rate rules");
  }
  if (kind === "no_worker") {
    if (has(t)) issue("threshold", "threshold does not apply to a no_worker rule");
    return;
  }
  if (!has(t)) {
    issue("threshold", `threshold is required for a ${kind} rule`);
    return;
  }
  if (typeof t !== "number" || !Number.isFinite(t)) return;
  if (kind === "failure_rate" && (t < 0 || t >= 100)) {
    issue("threshold", "threshold of a failure_rate rule is a percent from 0 to below 100");
  } else if (kind === "backlog" && (!Number.isInteger(t) || t < 0 || t > MAX_BACKLOG)) {
    issue(
      "threshold",
      `threshold of a backlog rule is a whole number of jobs, 0 to ${MAX_BACKLOG}`,
    );
  } else if (
    kind === "oldest_pending" && (!Number.isInteger(t) || t < 1 || t > MAX_AGE_SECONDS)
  ) {
    issue(
      "threshold",
      `threshold of an oldest_pending rule is a whole number of seconds, 1 to ${MAX_AGE_SECONDS}`,
    );
  }
}

/** Every field checked even when another failed (so 422s list every issue). */
const always = { when: () => true } as never;

/** The shape of a new rule (no kind rules): the document's schema. */
export const alertShape = z.strictObject(fields);

/** Body of `POST /api/alerts` and of the page's create form. */
export const createAlertBody = alertShape.superRefine(checkKind, always);
export type CreateAlert = z.output<typeof createAlertBody>;

/** The shape of a change: every field optional. */
export const patchAlertShape = z.strictObject({
  name: nameField.optional(),
  kind: kindField.optional(),
  queue: queueField.optional(),
  type: typeField.optional(),
  threshold: thresholdField.optional(),
  window_minutes: windowField.optional(),
  enabled: enabledField.optional(),
});

/**
 * Body of `PATCH /api/alerts/:id`. The rule after the change is checked
 * again with {@link createAlertBody} (e.g. a kind that needs a threshold the
 * rule lacks), its issues under the same field names.
 */
export const patchAlertBody = patchAlertShape;
export type PatchAlert = z.output<typeof patchAlertBody>;

/** The rule fields the helpers below read. */
export interface AlertRule {
  kind: AlertKind;
  queue: string | null;
  type: string | null;
  threshold: number | null;
  window_minutes: number | null;
}

/**
 * The jobs list filtered to what a rule watches: failed jobs for a failure
 * rate, pending jobs otherwise, of its queue and type.
 */
export function alertJobsPath(a: AlertRule): string {
  const q = new URLSearchParams({ status: a.kind === "failure_rate" ? "failed" : "pending" });
  if (a.queue) q.set("queue", a.queue);
  if (a.type) q.set("type", a.type);
  return `/jobs?${q}`;
}

/** A rule in words: "failure rate of queue mail, type email above 5 % over 15 min". */
export function describeAlert(a: AlertRule): string {
  const where = [a.queue ? `queue ${a.queue}` : "all queues", a.type ? `type ${a.type}` : null]
    .filter(Boolean).join(", ");
  switch (a.kind) {
    case "failure_rate":
      return `Failure rate of ${where} above ${a.threshold} % over ${a.window_minutes} min`;
    case "backlog":
      return `Pending jobs in ${where} above ${a.threshold}`;
    case "oldest_pending":
      return `Oldest due pending job in ${where} waiting over ${a.threshold} s`;
    case "no_worker":
      return a.queue
        ? `No live worker serving queue ${a.queue}`
        : "A queue with pending jobs that no live worker serves";
  }
}

/** A rule's last value in words ("12.5 %", "340 jobs", "95 s", "2 queues"); "—" when none. */
export function describeValue(a: AlertRule & { last_value: number | null }): string {
  const v = a.last_value;
  if (v === null || v === undefined) return "—";
  switch (a.kind) {
    case "failure_rate":
      return `${Math.round(v * 10) / 10} %`;
    case "backlog":
      return `${v} job${v === 1 ? "" : "s"}`;
    case "oldest_pending":
      return `${Math.round(v)} s`;
    case "no_worker":
      return a.queue
        ? (v > 0 ? "no worker" : "served")
        : `${v} queue${v === 1 ? "" : "s"} unserved`;
  }
}

const instant = z.iso.datetime({ offset: true });

/** A rule and its state, as the API answers it (the `alert` row and `state`). */
export const alertResponse = z.object({
  id: z.int().min(1),
  name: z.string(),
  kind: z.enum(ALERT_KINDS),
  queue: z.string().nullable().describe("the queue it watches; null: every queue"),
  type: z.string().nullable().describe("the job type it watches; null: every type"),
  threshold: z.number().nullable().describe("percent, jobs or seconds by kind; null: no_worker"),
  window_minutes: z.int().nullable().describe("failure_rate only"),
  enabled: z.boolean(),
  state: z.enum(["firing", "ok", "disabled"]),
  firing_since: instant.nullable().describe("when the current firing began; null: not firing"),
  last_value: z.number().nullable().describe(
    "the value at the last evaluation: percent, jobs, seconds, or queues without a worker " +
      "(null: nothing to measure, e.g. no job finished in the window)",
  ),
  last_evaluated_at: instant.nullable(),
  resolved_at: instant.nullable().describe("when the last firing ended"),
  notified_state: z.enum(["firing", "resolved"]).nullable().describe(
    "the last notice delivered to ALERT_WEBHOOK_URL",
  ),
  notified_since: instant.nullable().describe(
    "the firing (its firing_since) that notice was about",
  ),
  last_notified_at: instant.nullable().describe("when the last notice was delivered"),
  notify_until: instant.nullable().describe("a delivery in flight holds the rule until then"),
  notify_error: z.string().nullable().describe(
    "why the last delivery failed (null after a success)",
  ),
  created_at: instant,
  updated_at: instant,
});

/** Every rule, firing ones first. */
export const alertListResponse = z.object({ items: z.array(alertResponse) });
