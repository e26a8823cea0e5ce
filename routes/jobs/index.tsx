/**
 * `/jobs`: the searchable, filterable, sortable, paginated list (state in the
 * URL) with bulk actions. `POST /jobs` applies a bulk action to the ticked
 * ids, or to every job matching the list's filters (`scope=all`, in batches;
 * deleting with no filter needs `all=1`), or takes one back (`action=undo`),
 * then redirects back (303) with the outcome in the URL. `?confirm=<action>`
 * shows how many jobs an action on all matching would change (a dry run) with
 * a Confirm button; after a cancel or retry the outcome offers Undo for a
 * minute (`undo`, `until`).
 */
import { describeRetention } from "@/lib/config.ts";
import { define } from "@/utils.ts";
import { UUID_RE } from "@/lib/job_constants.ts";
import { page } from "fresh";
import { HttpError } from "@/lib/http/errors.ts";
import { bulk, jobs, queues } from "@/lib/queue/mod.ts";
import { type BulkAction, type BulkFilter, isEmptyFilter } from "@/lib/queue/bulk.ts";
import { actorOf } from "@/lib/http/actor.ts";
import { JOB_TYPE_NAMES } from "@/lib/jobs/mod.ts";
import { isFiltered, type JobsQuery, jobsSearch, parseJobsQuery } from "@/components/jobs_query.ts";
import { count, payloadSummary } from "@/components/format.ts";
import { Alert, buttonClass, Card, LINK, PageHeader } from "@/components/ui.tsx";
import JobFilters from "@/islands/JobFilters.tsx";
import JobsTable from "@/islands/JobsTable.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";
import UndoButton from "@/islands/UndoButton.tsx";
import { Pagination } from "@/components/Pagination.tsx";

const VERBS: Record<string, string> = {
  retry: "Retried",
  cancel: "Cancelled",
  delete: "Deleted",
};
const NOTES: Record<string, string> = {
  retry: "failed or cancelled ones go back to pending; undo is offered for a minute",
  cancel:
    "pending ones are cancelled, running ones are asked to stop; undo is offered for a minute",
  delete: "this cannot be undone; running ones are skipped",
};

/** The list's filters as the queue takes them. */
function filterOf(query: JobsQuery): BulkFilter {
  return {
    q: query.q || undefined,
    status: query.status,
    type: query.type,
    priority: query.priority,
    queue: query.queue,
  };
}

/** The filters in words: "status failed · type email", or "every job". */
function describeFilter(query: JobsQuery): string {
  const parts = [];
  if (query.status.length) parts.push(`status ${query.status.join(" or ")}`);
  if (query.type.length) parts.push(`type ${query.type.join(" or ")}`);
  if (query.queue.length) parts.push(`queue ${query.queue.join(" or ")}`);
  if (query.priority.length) parts.push(`priority ${query.priority.join(" or ")}`);
  if (query.q) parts.push(`matching "${query.q}"`);
  return parts.length ? parts.join(" · ") : "every job";
}

export const handler = define.handlers({
  async GET(ctx) {
    const query = parseJobsQuery(ctx.url.searchParams);
    const [list, paused, queueNames] = await Promise.all([
      jobs.list(ctx.state.sql, {
        ...filterOf(query),
        sort: query.sort,
        order: query.order,
        limit: query.size,
        offset: (query.page - 1) * query.size,
      }),
      queues.pausedNames(ctx.state.sql),
      queues.names(ctx.state.sql),
    ]);
    const sp = ctx.url.searchParams;
    const now = ctx.state.now() ?? new Date();
    const until = Number(sp.get("until")) || 0;
    const undoId = sp.get("undo") ?? "";
    const flash = sp.get("bulk") && Object.hasOwn(VERBS, sp.get("bulk")!)
      ? {
        action: sp.get("bulk")!,
        done: Number(sp.get("done")) || 0,
        skipped: Number(sp.get("skipped")) || 0,
        undo: UUID_RE.test(undoId) && until > now.getTime() ? { id: undoId, until } : null,
      }
      : null;
    const undone = sp.get("undone") === "cancel" || sp.get("undone") === "retry"
      ? {
        action: sp.get("undone")!,
        restored: Number(sp.get("restored")) || 0,
        movedOn: Number(sp.get("moved_on")) || 0,
      }
      : null;
    const confirmAction = sp.get("confirm") ?? "";
    const confirm = Object.hasOwn(VERBS, confirmAction)
      ? {
        action: confirmAction as BulkAction,
        count: await bulk.countFilter(ctx.state.sql, {
          action: confirmAction as BulkAction,
          filter: filterOf(query),
        }),
        filter: describeFilter(query),
        everything: isEmptyFilter(filterOf(query)),
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
      undone,
      undoGone: sp.get("undo_gone") === "1",
      confirm,
      deleted: sp.get("deleted"),
      now,
      retention: describeRetention(ctx.state.config),
    });
  },

  async POST(ctx) {
    const form = await ctx.req.formData();
    const action = String(form.get("action") ?? "");
    if (!(action in VERBS) && action !== "undo") {
      throw new HttpError(400, "bad_action", "choose retry, cancel, delete or undo");
    }
    const backRaw = String(form.get("back") ?? "/jobs");
    const backUrl = new URL(backRaw.startsWith("/jobs") ? backRaw : "/jobs", ctx.url);
    const query = parseJobsQuery(backUrl.searchParams);
    const target = new URL(`/jobs${jobsSearch(query)}`, ctx.url);
    const actor = actorOf(ctx);
    if (action === "undo") {
      const id = String(form.get("undo") ?? "");
      const r = UUID_RE.test(id)
        ? await bulk.undo(ctx.state.sql, { id: id.toLowerCase(), now: ctx.state.now(), actor })
        : null;
      if (!r) target.searchParams.set("undo_gone", "1");
      else {
        if (r.restored > 0) {
          ctx.state.changed.poke();
          if (r.action === "cancel") ctx.state.newJobs.poke();
        }
        target.searchParams.set("undone", r.action);
        target.searchParams.set("restored", String(r.restored));
        target.searchParams.set("moved_on", String(r.moved_on));
      }
      return ctx.redirect(target.pathname + target.search, 303);
    }
    const opts = { action: action as BulkAction, now: ctx.state.now(), actor };
    let matched: number, done: number;
    let undo: { id: string; expires_at: Date } | null;
    if (form.get("scope") === "all") {
      const filter = filterOf(query);
      if (action === "delete" && isEmptyFilter(filter) && form.get("all") !== "1") {
        throw new HttpError(
          422,
          "all_required",
          "with no filter this deletes every job: tick “delete every job” to confirm",
        );
      }
      const r = await bulk.applyFilter(ctx.state.sql, { ...opts, filter });
      ({ matched, count: done, undo } = r);
    } else {
      const ids = form.getAll("ids").map(String).filter((id) => UUID_RE.test(id));
      const out = await bulk.applyIds(ctx.state.sql, { ...opts, ids });
      matched = ids.length;
      done = out.results.filter((o) => o.outcome === "done").length;
      undo = out.undo;
    }
    if (done > 0) {
      ctx.state.changed.poke();
      if (action === "retry") ctx.state.newJobs.poke();
    }
    target.searchParams.set("bulk", action);
    target.searchParams.set("done", String(done));
    target.searchParams.set("skipped", String(matched - done));
    if (undo) {
      target.searchParams.set("undo", undo.id);
      target.searchParams.set("until", String(undo.expires_at.getTime()));
    }
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
      {data.confirm && <ConfirmBulk {...data.confirm} query={query} />}
      {flash && (
        <Alert kind={flash.done > 0 ? "success" : "info"} id="bulk-result">
          <div class="flex flex-wrap items-center gap-x-3 gap-y-1">
            <span>
              {VERBS[flash.action]} {count(flash.done)} job{flash.done === 1 ? "" : "s"}
              {flash.skipped > 0 &&
                `; ${count(flash.skipped)} skipped (${
                  flash.action === "cancel"
                    ? "already finished"
                    : flash.action === "retry"
                    ? "not failed or cancelled"
                    : "running or gone"
                })`}.
            </span>
            {flash.undo && (
              <UndoButton
                id={flash.undo.id}
                until={flash.undo.until}
                back={`/jobs${jobsSearch(query)}`}
              />
            )}
          </div>
        </Alert>
      )}
      {data.undone && (
        <Alert kind="success" id="undo-result">
          Undone: {count(data.undone.restored)} job{data.undone.restored === 1 ? "" : "s"}{" "}
          put back as before the {data.undone.action}
          {data.undone.movedOn > 0 &&
            `; ${count(data.undone.movedOn)} left alone (they moved on since)`}.
        </Alert>
      )}
      {data.undoGone && (
        <Alert kind="info" id="undo-result">
          Nothing to undo: the offer lasts a minute after the action, and works once.
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

/** The confirmation of an action on all matching jobs, with the dry run's count. */
function ConfirmBulk(
  props: {
    action: BulkAction;
    count: number;
    filter: string;
    everything: boolean;
    query: JobsQuery;
  },
) {
  const { action, query } = props;
  const verb = action === "retry" ? "Retry" : action === "cancel" ? "Cancel" : "Delete";
  const back = `/jobs${jobsSearch(query)}`;
  return (
    <Card class="mb-4" id="bulk-confirm" title={`${verb} all matching`}>
      <div class="space-y-3 p-4 text-sm">
        {props.count === 0
          ? (
            <p data-confirm-count="0">
              No job matching {props.filter} can be{" "}
              {action === "retry" ? "retried" : action === "cancel" ? "cancelled" : "deleted"}.
            </p>
          )
          : (
            <p data-confirm-count={props.count}>
              <strong>
                {verb} all {count(props.count)} job{props.count === 1 ? "" : "s"}
              </strong>{" "}
              ({props.filter})? <span class="text-muted-foreground">{NOTES[action]}.</span>
            </p>
          )}
        <form method="post" action="/jobs" class="flex flex-wrap items-center gap-3">
          <input type="hidden" name="action" value={action} />
          <input type="hidden" name="scope" value="all" />
          <input type="hidden" name="back" value={back} />
          {action === "delete" && props.everything && props.count > 0 && (
            <label class="flex items-center gap-2">
              <input type="checkbox" name="all" value="1" required class="h-4 w-4" />
              Delete every job (no filter is set)
            </label>
          )}
          {props.count > 0 && (
            <button
              type="submit"
              class={buttonClass(action === "delete" ? "destructive" : "primary", "h-8 px-3")}
            >
              Confirm: {verb.toLowerCase()} {count(props.count)}
            </button>
          )}
          <a href={back} class={`${LINK} text-sm`}>Back to the list</a>
        </form>
      </div>
    </Card>
  );
}
