/**
 * `/jobs`: the searchable, filterable, sortable, paginated list (state in the
 * URL) with bulk actions. `POST /jobs` applies a bulk action to the ticked
 * ids, or to every job matching the list's filters (`scope=all`, capped at
 * {@link MAX_BULK}), then redirects back (303) with the outcome in the URL.
 */
import { describeRetention } from "@/lib/config.ts";
import { define } from "@/utils.ts";
import { UUID_RE } from "@/lib/job_constants.ts";
import { page } from "fresh";
import { HttpError } from "@/lib/http/errors.ts";
import { bulk, jobs, queues } from "@/lib/queue/mod.ts";
import type { BulkAction } from "@/lib/queue/bulk.ts";
import type { ListQuery } from "@/lib/queue/list.ts";
import { JOB_TYPE_NAMES } from "@/lib/jobs/mod.ts";
import { isFiltered, type JobsQuery, jobsSearch, parseJobsQuery } from "@/components/jobs_query.ts";
import { count, payloadSummary } from "@/components/format.ts";
import { Alert, buttonClass, Card, PageHeader } from "@/components/ui.tsx";
import JobFilters from "@/islands/JobFilters.tsx";
import JobsTable from "@/islands/JobsTable.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";
import { Pagination } from "@/components/Pagination.tsx";

/** Most jobs one "all matching" bulk action touches. */
export const MAX_BULK = 10_000;
const VERBS: Record<string, string> = {
  retry: "Retried",
  cancel: "Cancelled",
  delete: "Deleted",
};

/** The list's filters and order as the queue takes them. */
function filterOf(query: JobsQuery): ListQuery {
  return {
    q: query.q || undefined,
    status: query.status,
    type: query.type,
    priority: query.priority,
    queue: query.queue,
    sort: query.sort,
    order: query.order,
  };
}

export const handler = define.handlers({
  async GET(ctx) {
    const query = parseJobsQuery(ctx.url.searchParams);
    const [list, paused, queueNames] = await Promise.all([
      jobs.list(ctx.state.sql, {
        ...filterOf(query),
        limit: query.size,
        offset: (query.page - 1) * query.size,
      }),
      queues.pausedNames(ctx.state.sql),
      queues.names(ctx.state.sql),
    ]);
    const sp = ctx.url.searchParams;
    const flash = sp.get("bulk") && Object.hasOwn(VERBS, sp.get("bulk")!)
      ? {
        action: sp.get("bulk")!,
        done: Number(sp.get("done")) || 0,
        skipped: Number(sp.get("skipped")) || 0,
        capped: sp.get("capped") === "1",
      }
      : null;
    return page({
      query,
      rows: list.items.map((j) => ({
        id: j.id,
        type: j.type,
        status: j.status,
        priority: j.priority,
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        created_at: j.created_at,
        updated_at: j.updated_at,
        scheduled_for: j.scheduled_for,
        summary: payloadSummary(j.type, j.payload),
        progress: j.status === "processing" && j.progress
          ? { percent: j.progress.percent, message: j.progress.message }
          : null,
        cancel_requested: j.status === "processing" && j.cancel_requested_at !== null,
        paused: j.status === "pending" && paused.has(j.queue),
      })),
      total: list.total,
      queues: queueNames,
      flash,
      deleted: sp.get("deleted"),
      now: ctx.state.now() ?? new Date(),
      retention: describeRetention(ctx.state.config),
    });
  },

  async POST(ctx) {
    const form = await ctx.req.formData();
    const action = String(form.get("action") ?? "");
    if (!(action in VERBS)) {
      throw new HttpError(400, "bad_action", "choose retry, cancel or delete");
    }
    const backRaw = String(form.get("back") ?? "/jobs");
    const backUrl = new URL(backRaw.startsWith("/jobs") ? backRaw : "/jobs", ctx.url);
    const query = parseJobsQuery(backUrl.searchParams);
    const opts = { action: action as BulkAction, now: ctx.state.now() };
    let matched: number, done: number, capped = false;
    if (form.get("scope") === "all") {
      ({ matched, done, capped } = await bulk.applyMatching(ctx.state.sql, {
        ...opts,
        filter: filterOf(query),
        limit: MAX_BULK,
      }));
    } else {
      const ids = form.getAll("ids").map(String).filter((id) => UUID_RE.test(id));
      const out = await bulk.apply(ctx.state.sql, { ...opts, ids });
      matched = ids.length;
      done = out.filter((o) => o.outcome === "done").length;
    }
    if (done > 0) {
      ctx.state.changed.poke();
      if (action === "retry") ctx.state.newJobs.poke();
    }
    const target = new URL(`/jobs${jobsSearch(query)}`, ctx.url);
    target.searchParams.set("bulk", action);
    target.searchParams.set("done", String(done));
    target.searchParams.set("skipped", String(matched - done));
    if (capped) target.searchParams.set("capped", "1");
    return ctx.redirect(target.pathname + target.search, 303);
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { query, total, flash } = data;
  return (
    <>
      <PageHeader
        title="Jobs"
        description={
          <span data-live="jobs-total">
            {isFiltered(query) ? `${count(total)} matching` : `${count(total)} in total`}
          </span>
        }
        actions={
          <>
            <LiveRegion mode="swap" />
            <a href="/jobs/new" class={buttonClass("outline")}>Create job</a>
          </>
        }
      />
      {flash && (
        <Alert kind={flash.done > 0 ? "success" : "info"} id="bulk-result">
          {VERBS[flash.action]} {count(flash.done)} job{flash.done === 1 ? "" : "s"}
          {flash.skipped > 0 &&
            `; ${count(flash.skipped)} skipped (${
              flash.action === "cancel"
                ? "already finished"
                : flash.action === "retry"
                ? "not failed or cancelled"
                : "running or gone"
            })`}
          {flash.capped && `; stopped at ${count(MAX_BULK)} — run it again for the rest`}.
        </Alert>
      )}
      {data.deleted && <Alert kind="success">Job {data.deleted.slice(0, 8)} deleted.</Alert>}
      <JobFilters query={query} types={[...JOB_TYPE_NAMES]} queues={data.queues} />
      <Card>
        <JobsTable rows={data.rows} total={total} query={query} now={data.now} />
        <div data-live="pagination">
          <Pagination query={query} total={total} />
        </div>
      </Card>
      <p class="mt-3 text-xs text-muted-foreground" id="retention">{data.retention}</p>
    </>
  );
});
