/**
 * The `/jobs` list state as it lives in the URL: search, filters (several
 * values each), sort, order, page and page size. Parsing is forgiving —
 * unknown values are dropped, numbers clamped — so any bookmark renders.
 * Browser-safe (the list islands build links with it).
 */

import {
  JOB_STATUSES,
  type JobStatus,
  QUEUE_NAME_RE,
  SORT_COLUMNS,
  type SortColumn as Sortable,
} from "../lib/job_constants.ts";

export { JOB_STATUSES, type JobStatus, type Sortable };
/** Page sizes offered. */
export const PAGE_SIZES = [10, 20, 50, 100] as const;

/** Parsed list state. */
export interface JobsQuery {
  q: string;
  status: JobStatus[];
  type: string[];
  priority: number[];
  queue: string[];
  sort: Sortable;
  order: "asc" | "desc";
  page: number;
  size: number;
}

/** Reads the list state from URL search parameters. */
export function parseJobsQuery(sp: URLSearchParams): JobsQuery {
  const many = (k: string) =>
    sp.getAll(k).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const sort = sp.get("sort") as Sortable;
  const size = Number(sp.get("size"));
  const page = Number(sp.get("page"));
  return {
    q: (sp.get("q") ?? "").trim().slice(0, 200),
    status: [
      ...new Set(
        many("status").filter((s): s is JobStatus =>
          (JOB_STATUSES as readonly string[]).includes(s)
        ),
      ),
    ],
    type: [...new Set(many("type").filter((t) => /^[a-z][a-z0-9_]{0,62}$/.test(t)))],
    priority: [
      ...new Set(
        many("priority").map(Number).filter((p) => Number.isInteger(p) && p >= 1 && p <= 5),
      ),
    ],
    queue: [...new Set(many("queue").filter((q) => QUEUE_NAME_RE.test(q)))].slice(0, 50),
    sort: SORT_COLUMNS.includes(sort) ? sort : "created_at",
    order: sp.get("order") === "asc" ? "asc" : "desc",
    page: Number.isInteger(page) && page >= 1 ? Math.min(page, 100_000) : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : 20,
  };
}

/**
 * The search string (with `?`, or "" when everything is default) of `q`
 * changed by `patch`. Defaults are left out so URLs stay short.
 */
export function jobsSearch(q: JobsQuery, patch: Partial<JobsQuery> = {}): string {
  const v = { ...q, ...patch };
  const sp = new URLSearchParams();
  if (v.q) sp.set("q", v.q);
  for (const s of v.status) sp.append("status", s);
  for (const t of v.type) sp.append("type", t);
  for (const p of v.priority) sp.append("priority", String(p));
  for (const q of v.queue ?? []) sp.append("queue", q);
  if (v.sort !== "created_at") sp.set("sort", v.sort);
  if (v.order !== "desc") sp.set("order", v.order);
  if (v.size !== 20) sp.set("size", String(v.size));
  if (v.page !== 1) sp.set("page", String(v.page));
  const s = sp.toString();
  return s ? "?" + s : "";
}

/** True when any filter or search is set. */
export function isFiltered(q: JobsQuery): boolean {
  return Boolean(
    q.q || q.status.length || q.type.length || q.priority.length || q.queue?.length,
  );
}
