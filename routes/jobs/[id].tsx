/**
 * `/jobs/:id`: one job — header, timeline, payload and result, actions, the
 * report's download link; live while pending or running. `POST` performs
 * an action (`cancel`, `retry`, `delete`, `clone`) and redirects with 303.
 */
import { ExplainPanel } from "@/components/Explain.tsx";
import { define } from "@/utils.ts";
import { UUID_RE } from "@/lib/job_constants.ts";
import { page } from "fresh";
import { HttpError } from "@/lib/http/errors.ts";
import { actorOf } from "@/lib/http/actor.ts";
import { artifacts, jobs } from "@/lib/queue/mod.ts";
import {
  Alert,
  buttonClass,
  Card,
  isScheduled,
  LINK,
  PriorityLabel,
  RelativeTime,
  StatusBadge,
} from "@/components/ui.tsx";
import { count, duration, exactTime, relativeTime } from "@/components/format.ts";
import type { Job } from "@/lib/queue/types.ts";
import { Timeline } from "@/components/Timeline.tsx";
import { ErrorText } from "@/components/ErrorText.tsx";
import JsonViewer from "@/islands/JsonViewer.tsx";
import JobActions from "@/islands/JobActions.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";
import JobProgress from "@/islands/JobProgress.tsx";

/** `table[key]` for the table's own keys only (never `constructor`, `__proto__`, …). */
function own(table: Record<string, string>, key: string | null): string | null {
  return key !== null && Object.hasOwn(table, key) ? table[key] : null;
}

const DONE: Record<string, string> = {
  cancelled: "Job cancelled.",
  cancel_requested: "Cancel requested: the running job is being stopped.",
  retried: "Job queued again with a fresh set of attempts.",
  edited: "Job edited and queued again with a fresh set of attempts.",
  created: "Job created.",
  existed:
    "A pending or processing job already has this unique key: this one. Nothing was created.",
};

/** The flash message of `?done=`; a retried job that kept its later schedule says when it runs. */
function doneMessage(key: string | null, job: Job, now: Date): string | null {
  const msg = own(DONE, key);
  if ((key !== "retried" && key !== "edited") || !isScheduled(job.status, job.scheduled_for, now)) {
    return msg;
  }
  return `${msg} It keeps its schedule: it runs ${relativeTime(job.scheduled_for, now)} (${
    exactTime(job.scheduled_for)
  }).`;
}

async function load(sql: Parameters<typeof jobs.getWithEvents>[0], id: string) {
  if (!UUID_RE.test(id)) throw new HttpError(404, "job_not_found", `there is no job ${id}`);
  const job = await jobs.getWithEvents(sql, { id });
  if (!job) throw new HttpError(404, "job_not_found", `there is no job ${id}`);
  return job;
}

export const handler = define.handlers({
  async GET(ctx) {
    const job = await load(ctx.state.sql, ctx.params.id);
    const now = ctx.state.now() ?? new Date();
    const file = job.type === "report" && job.status === "completed"
      ? await artifacts.get(ctx.state.sql, { jobId: job.id })
      : null;
    const explanation = job.status === "pending"
      ? await jobs.explain(ctx.state.sql, { id: job.id, now: ctx.state.now() })
      : null;
    return page({
      job,
      explanation,
      file: file ? { filename: file.filename, bytes: file.bytes.length } : null,
      title: `${job.type} ${job.id.slice(0, 8)}`,
      done: doneMessage(ctx.url.searchParams.get("done"), job, now),
      now,
    });
  },

  async POST(ctx) {
    const { sql, now } = ctx.state;
    const id = ctx.params.id;
    const job = await load(sql, id);
    const action = String((await ctx.req.formData()).get("action") ?? "");
    const back = (done: string) => ctx.redirect(`/jobs/${job.id}?done=${done}`, 303);
    switch (action) {
      case "cancel": {
        const after = await jobs.cancel(sql, { id: job.id, now: now(), actor: actorOf(ctx) });
        ctx.state.changed.poke();
        return back(after.status === "processing" ? "cancel_requested" : "cancelled");
      }
      case "retry": {
        await jobs.retry(sql, { id: job.id, now: now(), actor: actorOf(ctx) });
        ctx.state.changed.poke();
        ctx.state.newJobs.poke();
        return back("retried");
      }
      case "delete": {
        await jobs.remove(sql, { id: job.id, now: now(), actor: actorOf(ctx) });
        ctx.state.changed.poke();
        return ctx.redirect(`/jobs?deleted=${job.id}`, 303);
      }
      case "clone":
        return ctx.redirect(`/jobs/new?clone=${job.id}`, 303);
    }
    throw new HttpError(400, "bad_action", "choose cancel, retry, delete or clone");
  },
});

function Field({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="min-w-0">
      <dt class="text-xs text-muted-foreground">{label}</dt>
      <dd class="mt-0.5 truncate text-sm">{children}</dd>
    </div>
  );
}

export default define.page<typeof handler>(({ data }) => {
  const { job, now } = data;
  const running = job.status === "pending" || job.status === "processing";
  const ran = job.started_at && job.completed_at
    ? duration(new Date(job.completed_at).getTime() - new Date(job.started_at).getTime())
    : null;
  return (
    <>
      <nav aria-label="Breadcrumb" class="mb-2 text-sm text-muted-foreground">
        <a href="/jobs" class={LINK}>Jobs</a> <span aria-hidden="true">/</span>{" "}
        <span class="font-mono">{job.id.slice(0, 8)}</span>
      </nav>
      {data.done && <Alert kind="success">{data.done}</Alert>}
      <div class="mb-4 flex flex-wrap items-start justify-between gap-3">
        <div class="min-w-0">
          <div class="flex flex-wrap items-center gap-2">
            <h1 class="text-xl font-semibold tracking-tight">{job.type} job</h1>
            <StatusBadge status={job.status} scheduledFor={job.scheduled_for} now={now} />
            <LiveRegion
              mode="reload"
              jobId={job.id}
              updatedAt={new Date(job.updated_at).toISOString()}
              pollMs={running ? 5000 : 0}
            />
          </div>
          <p class="mt-0.5 break-all font-mono text-xs text-muted-foreground">{job.id}</p>
        </div>
        <JobActions
          id={job.id}
          status={job.status}
          cancelRequested={job.cancel_requested_at !== null}
        />
      </div>
      <ExplainPanel explanation={data.explanation} now={now} />
      <Card class="mb-3">
        <dl class="grid grid-cols-2 gap-x-4 gap-y-3 px-4 py-3 sm:grid-cols-3 lg:grid-cols-6">
          <Field label="Queue">
            <a
              href={`/jobs?queue=${encodeURIComponent(job.queue)}`}
              class={`${LINK} font-mono text-xs`}
              data-field="queue"
            >
              {job.queue}
            </a>
          </Field>
          <Field label="Priority">
            <PriorityLabel priority={job.priority} />
          </Field>
          <Field label="Attempts">
            <span class="tabular-nums">{job.attempts} / {job.max_attempts}</span>
          </Field>
          <Field label="Created">
            <RelativeTime date={job.created_at} now={now} />
          </Field>
          <Field label="Scheduled for">
            <RelativeTime date={job.scheduled_for} now={now} />
          </Field>
          <Field label="Started">
            {job.started_at ? <RelativeTime date={job.started_at} now={now} /> : "—"}
          </Field>
          <Field label={job.completed_at ? "Completed" : "Updated"}>
            <RelativeTime date={job.completed_at ?? job.updated_at} now={now} />
            {ran && <span class="ml-1 text-muted-foreground">({ran})</span>}
          </Field>
          {job.unique_key && (
            <Field label="Unique key">
              <span class="break-all font-mono text-xs">{job.unique_key}</span>
            </Field>
          )}
          {job.timeout_seconds !== null && (
            <Field label="Timeout">
              <span class="tabular-nums">{job.timeout_seconds} s</span>
            </Field>
          )}
          {job.expires_at && (
            <Field label="Expires">
              <RelativeTime date={job.expires_at} now={now} />
            </Field>
          )}
          {job.locked_by && (
            <Field label="Held by">
              <span
                class="font-mono text-xs"
                title={job.locked_until ? `lease until ${exactTime(job.locked_until)}` : undefined}
              >
                {job.locked_by}
              </span>
            </Field>
          )}
        </dl>
      </Card>
      {(job.progress || job.status === "processing") && (
        <JobProgress
          jobId={job.id}
          live={job.status === "processing"}
          progress={job.progress}
          cancelRequestedAt={job.cancel_requested_at
            ? new Date(job.cancel_requested_at).toISOString()
            : null}
        />
      )}
      {job.error && (
        <div
          class="mb-3 rounded-lg border border-red-300 bg-red-50 px-4 py-3 dark:border-red-800 dark:bg-red-900/40"
          role="note"
          aria-label="Last error"
          data-view-key="last-error"
        >
          <div class="text-xs font-medium text-red-800 dark:text-red-300">Last error</div>
          <ErrorText
            text={job.error}
            preClass="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-words font-mono text-xs text-red-900 dark:text-red-200"
          />
        </div>
      )}
      <div class="grid grid-cols-1 gap-3 lg:grid-cols-5">
        <div class="space-y-3 lg:col-span-3">
          <Card title="Payload">
            <div class="px-4 py-3">
              <JsonViewer label="Payload" value={job.payload} />
            </div>
          </Card>
          <Card
            title="Result"
            actions={data.file
              ? (
                <a
                  href={`/api/jobs/${job.id}/artifact`}
                  class={buttonClass("outline", "h-7 text-xs")}
                  download
                  title={`${data.file.filename}, ${count(data.file.bytes)} bytes`}
                >
                  Download report
                </a>
              )
              : undefined}
          >
            <div class="px-4 py-3">
              {job.result === null || job.result === undefined
                ? (
                  <p class="text-sm text-muted-foreground">
                    {running ? "No result yet." : "No result."}
                  </p>
                )
                : <JsonViewer label="Result" value={job.result} />}
              {job.type === "report" && job.status === "completed" && !data.file && (
                <p class="mt-2 text-sm text-muted-foreground" data-no-file>
                  No file was stored for this report, so there is nothing to download.
                </p>
              )}
            </div>
          </Card>
        </div>
        <Card
          title={`Timeline · ${count(job.events.length)} ${
            job.events.length === 1 ? "event" : "events"
          }`}
          class="lg:col-span-2"
          actions={
            <a class={`${LINK} text-xs text-muted-foreground`} href={`/audit?job=${job.id}`}>
              Audit entries for this job
            </a>
          }
        >
          <div class="px-4 py-4">
            <Timeline events={job.events} now={now} />
          </div>
        </Card>
      </div>
    </>
  );
});
