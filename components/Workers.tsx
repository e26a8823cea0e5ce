/** Worker processes with their slots, heartbeats and running jobs. Server-rendered. */
import type { Job, WorkerRow } from "@/lib/queue/types.ts";
import { Empty, LINK, RelativeTime } from "./ui.tsx";
import { WORKER_LATE_SECONDS } from "@/lib/job_constants.ts";
import * as workers from "@/lib/queue/workers.ts";
import { duration, payloadSummary } from "./format.ts";
import { shortId } from "./JobRows.tsx";

/** Seconds without a heartbeat after which a worker is shown as late. */
export const LATE_AFTER_SECONDS = WORKER_LATE_SECONDS;

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
        const busy = slotsOf(w, running, now).filter((s) => s.job).length;
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

/** Slot bar: one cell per Web Worker, in the order of the slot list, filled when it runs a job. */
export function SlotBar({ slots }: { slots: SlotView[] }) {
  const busy = slots.filter((s) => s.job).length;
  return (
    <div
      class="flex flex-wrap gap-1"
      role="img"
      aria-label={`${busy} of ${slots.length} Web Workers busy`}
    >
      {slots.map((s) => (
        <span
          key={s.runner}
          class={`h-3 w-5 rounded-sm ${s.job ? "bg-sky-500" : "bg-muted"}`}
        />
      ))}
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

/** One Web Worker slot of a process, as `/workers` shows it. */
export interface SlotView {
  /** The runner's lease owner name, `<worker id>/<n>`. */
  runner: string;
  /** What its heartbeat last said (`running`, `starting`, `dead`, …), if anything. */
  state?: string;
  /** The job its handler runs now, or null when idle. */
  job: Job | null;
  /** How long that job has run (ms), or null when unknown. */
  elapsedMs: number | null;
  /** More jobs it has claimed and not started yet. */
  waiting: number;
}

const time = (d: Date | string | null) => d ? new Date(d).getTime() : 0;

/**
 * The slots of worker `w`: each runner its heartbeat reports (else its first
 * runner names), plus any runner holding one of `running` that the last
 * heartbeat did not know yet. A slot's job is the processing job locked by
 * that runner which the heartbeat names, else the one it claimed first; its
 * elapsed time is the heartbeat's figure plus the time since that heartbeat,
 * else the time since the job was claimed.
 */
export function slotsOf(w: WorkerRow, running: Job[], now: Date): SlotView[] {
  const mine = jobsOf(w, running);
  const reported = workers.runnersOf(w);
  const names = reported.map((r) => r.worker);
  for (const j of mine) if (j.locked_by && !names.includes(j.locked_by)) names.push(j.locked_by);
  const sinceBeat = now.getTime() - new Date(w.heartbeat_at).getTime();
  return names.map((runner): SlotView => {
    const r = reported.find((x) => x.worker === runner);
    const held = mine.filter((j) => j.locked_by === runner)
      .sort((a, b) => time(a.started_at) - time(b.started_at));
    const job = held.find((j) => j.id === r?.job) ?? held[0] ?? null;
    const elapsed = !job
      ? null
      : r?.job === job.id && r.running_ms !== undefined
      ? r.running_ms + sinceBeat
      : job.started_at
      ? now.getTime() - time(job.started_at)
      : null;
    return {
      runner,
      state: r?.state,
      job,
      elapsedMs: elapsed === null ? null : Math.max(0, elapsed),
      waiting: Math.max(0, held.length - 1),
    };
  });
}

/** What an idle slot is doing, from its reported state. */
function idleText(state: string | undefined): string {
  if (state === "dead") return "stopped unexpectedly; being replaced";
  if (state === "starting" || state === "stopping" || state === "stopped") return state;
  return "idle";
}

/** One row per Web Worker slot (see {@link slotsOf}): the job it runs and for how long. */
export function SlotList({ worker, slots }: { worker: WorkerRow; slots: SlotView[] }) {
  return (
    <ul class="divide-y divide-border rounded-md border border-border text-sm">
      {slots.map(({ runner, state, job, elapsedMs, waiting }) => (
        <li
          key={runner}
          class="flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-1.5"
          data-runner={runner}
        >
          <span
            class={`h-2 w-2 rounded-full ${
              job ? "bg-sky-500 animate-pulse" : "bg-zinc-300 dark:bg-zinc-600"
            }`}
            aria-hidden="true"
          />
          <span class="w-16 truncate font-mono text-xs text-muted-foreground" title={runner}>
            {runner.startsWith(worker.id) ? runner.slice(worker.id.length) : runner}
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
                  running for{" "}
                  <span class="tabular-nums" data-elapsed>
                    {elapsedMs === null ? "—" : duration(elapsedMs)}
                  </span>{" "}
                  · attempt {job.attempts}
                  {waiting > 0 && ` · ${waiting} more claimed`}
                </span>
              </>
            )
            : <span class="text-muted-foreground">{idleText(state)}</span>}
        </li>
      ))}
    </ul>
  );
}
