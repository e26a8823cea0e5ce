/** Worker processes with their slots, heartbeats and running jobs. Server-rendered. */
import type { Job, WorkerRow } from "@/lib/queue/types.ts";
import { Empty, LINK, RelativeTime } from "./ui.tsx";
import { payloadSummary } from "./format.ts";
import { shortId } from "./JobRows.tsx";

/** Seconds without a heartbeat after which a worker is shown as late. */
export const LATE_AFTER_SECONDS = 30;

/** The jobs a worker holds (lease owner `locked_by` starts with the worker id). */
export function jobsOf(w: WorkerRow, running: Job[]): Job[] {
  return running.filter((j) =>
    j.locked_by === w.id || j.locked_by?.startsWith(w.id + "/") ||
    j.locked_by?.startsWith(w.id + ":") || j.locked_by?.startsWith(w.id + "#")
  );
}

/** One line per worker: host, pid, busy slots, heartbeat. */
export function WorkerSummary(
  { workers, running, now }: { workers: WorkerRow[]; running: Job[]; now: Date },
) {
  if (workers.length === 0) {
    return (
      <Empty>
        No worker is running. Start one with <code class="font-mono">deno task worker</code>.
      </Empty>
    );
  }
  return (
    <ul class="divide-y divide-border text-sm">
      {workers.map((w) => {
        const busy = jobsOf(w, running).length;
        const late = now.getTime() - new Date(w.heartbeat_at).getTime() > LATE_AFTER_SECONDS * 1000;
        return (
          <li class="flex items-center gap-3 px-4 py-2.5">
            <span
              class={`h-2 w-2 shrink-0 rounded-full ${
                w.stopping ? "bg-amber-500" : late ? "bg-red-500" : "bg-emerald-500"
              }`}
              aria-hidden="true"
            />
            <div class="min-w-0 flex-1">
              <div class="truncate font-medium">
                {w.host} <span class="text-muted-foreground">pid {w.pid}</span>
              </div>
              <div class="text-xs text-muted-foreground">
                {w.stopping ? "stopping · " : late ? "heartbeat late · " : ""}heartbeat{" "}
                <RelativeTime date={w.heartbeat_at} now={now} />
              </div>
            </div>
            <div class="text-right text-xs">
              <div class="font-medium tabular-nums">{busy}/{w.concurrency}</div>
              <div class="text-muted-foreground">busy</div>
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** Slot bar: one cell per Web Worker, filled when it runs a job. */
export function SlotBar({ busy, total }: { busy: number; total: number }) {
  return (
    <div
      class="flex flex-wrap gap-1"
      role="img"
      aria-label={`${busy} of ${total} Web Workers busy`}
    >
      {Array.from(
        { length: total },
        (_, i) => (
          <span key={i} class={`h-3 w-5 rounded-sm ${i < busy ? "bg-sky-500" : "bg-muted"}`} />
        ),
      )}
    </div>
  );
}

/** Running jobs of one worker. */
export function RunningJobs({ jobs, now }: { jobs: Job[]; now: Date }) {
  if (jobs.length === 0) return <p class="text-sm text-muted-foreground">Idle.</p>;
  return (
    <ul class="space-y-1 text-sm">
      {jobs.map((j) => (
        <li class="flex flex-wrap items-center gap-x-2">
          <a href={`/jobs/${j.id}`} class={`${LINK} font-mono text-xs`}>{shortId(j.id)}</a>
          <span class="font-medium">{j.type}</span>
          <span class="min-w-0 flex-1 truncate text-muted-foreground">
            {payloadSummary(j.type, j.payload, 60)}
          </span>
          <span class="text-xs text-muted-foreground">
            {j.locked_by} · started{" "}
            {j.started_at ? <RelativeTime date={j.started_at} now={now} /> : "—"}
          </span>
        </li>
      ))}
    </ul>
  );
}

/**
 * One row per Web Worker of a process (names from the worker's reported
 * `info.runners`, else `<id>/<n>`), with the job it runs now.
 */
export function SlotList(
  { worker, running, now }: { worker: WorkerRow; running: Job[]; now: Date },
) {
  const reported = (worker.info as { runners?: unknown })?.runners;
  const slots = Array.isArray(reported) && reported.every((r) => typeof r === "string")
    ? reported as string[]
    : Array.from({ length: worker.concurrency }, (_, i) => `${worker.id}/${i}`);
  return (
    <ul class="divide-y divide-border rounded-md border border-border text-sm">
      {slots.map((slot) => {
        const job = running.find((j) => j.locked_by === slot);
        return (
          <li key={slot} class="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-1.5">
            <span
              class={`h-2 w-2 rounded-full ${
                job ? "bg-sky-500 animate-pulse" : "bg-zinc-300 dark:bg-zinc-600"
              }`}
              aria-hidden="true"
            />
            <span class="w-28 truncate font-mono text-xs text-muted-foreground" title={slot}>
              {slot.slice(worker.id.length) || slot}
            </span>
            {job
              ? (
                <>
                  <a href={`/jobs/${job.id}`} class={`${LINK} font-mono text-xs`}>
                    {shortId(job.id)}
                  </a>
                  <span class="font-medium">{job.type}</span>
                  <span class="min-w-0 flex-1 truncate text-muted-foreground">
                    {payloadSummary(job.type, job.payload, 60)}
                  </span>
                  <span class="text-xs text-muted-foreground">
                    attempt {job.attempts} · started{" "}
                    {job.started_at ? <RelativeTime date={job.started_at} now={now} /> : "—"}
                  </span>
                </>
              )
              : <span class="text-muted-foreground">idle</span>}
          </li>
        );
      })}
    </ul>
  );
}
