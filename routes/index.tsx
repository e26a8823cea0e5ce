/** `/`: the dashboard — status cards, last-hour throughput, trend chart, recent jobs, workers; live. */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { alerts, jobs, stats, workers } from "@/lib/queue/mod.ts";
import { JOB_STATUSES } from "@/lib/queue/types.ts";
import { Card, LINK, PageHeader, statusDot } from "@/components/ui.tsx";
import { count } from "@/components/format.ts";
import { JobRows } from "@/components/JobRows.tsx";
import { WorkerSummary } from "@/components/Workers.tsx";
import { FiringBanner } from "@/components/Alerts.tsx";
import TrendChart, { RANGES } from "@/islands/TrendChart.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";

type Range = keyof typeof RANGES;

export const handler = define.handlers({
  async GET(ctx) {
    const { sql } = ctx.state;
    const now = ctx.state.now();
    const r = ctx.url.searchParams.get("range");
    const range: Range = r && r in RANGES ? r as Range : "24h";
    const q = RANGES[range];
    const [counts, hour, trend, recent, ws, running, firing] = await Promise.all([
      stats.counts(sql),
      stats.trend(sql, { hours: 1, bucket: "minute", now }),
      range === "1h" ? null : stats.trend(sql, { hours: q.hours, bucket: q.bucket, now }),
      jobs.list(sql, { limit: 10, sort: "created_at", order: "desc" }),
      workers.list(sql),
      jobs.list(sql, { status: ["processing"], limit: 100 }),
      alerts.firing(sql),
    ]);
    const sum = (k: "created" | "completed" | "failed") => hour.reduce((n, p) => n + p[k], 0);
    return page({
      counts,
      lastHour: { created: sum("created"), completed: sum("completed"), failed: sum("failed") },
      range,
      points: (trend ?? hour).map((p) => ({
        bucket: new Date(p.bucket).toISOString(),
        created: p.created,
        completed: p.completed,
        failed: p.failed,
      })),
      recent: recent.items,
      workers: ws,
      running: running.items,
      firing,
      now: now ?? new Date(),
    });
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { counts, lastHour, now } = data;
  const finished = lastHour.completed + lastHour.failed;
  const failureRate = finished ? (lastHour.failed / finished) * 100 : 0;
  const change: Record<string, string> = {
    pending: `+${count(lastHour.created)} created in 1 h`,
    processing: `${count(data.workers.reduce((n, w) => n + w.concurrency, 0))} slots online`,
    completed: `+${count(lastHour.completed)} in 1 h`,
    failed: `+${count(lastHour.failed)} in 1 h`,
    cancelled: counts.total
      ? `${((counts.cancelled / counts.total) * 100).toFixed(1)}% of all`
      : "—",
  };
  return (
    <>
      <PageHeader
        title="Dashboard"
        description={
          <span data-live="total">
            {count(counts.total)} {counts.total === 1 ? "job" : "jobs"} in the queue table
          </span>
        }
        actions={<LiveRegion mode="swap" pollMs={15000} />}
      />
      <div data-live="alerts">
        <FiringBanner items={data.firing} now={now} />
      </div>
      <div data-live="cards" class="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5">
        {JOB_STATUSES.map((s) => (
          <a
            href={`/jobs?status=${s}`}
            data-status={s}
            class="group rounded-lg border border-border bg-card p-3 shadow-sm transition-colors hover:bg-muted focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring"
          >
            <div class="flex items-center gap-2 text-xs font-medium uppercase tracking-wide text-muted-foreground">
              <span class={`h-2 w-2 rounded-full ${statusDot(s)}`} aria-hidden="true" />
              {s}
            </div>
            <div class="mt-1 text-2xl font-semibold tabular-nums" data-count>
              {count(counts[s])}
            </div>
            <div class="mt-0.5 text-xs text-muted-foreground">{change[s]}</div>
          </a>
        ))}
      </div>
      <div data-live="rates" class="mt-3 grid grid-cols-1 gap-3 sm:grid-cols-3">
        <div class="rounded-lg border border-border bg-card px-4 py-3 shadow-sm">
          <div class="text-xs text-muted-foreground">Throughput (last hour)</div>
          <div class="mt-0.5 text-lg font-semibold tabular-nums">
            {(lastHour.completed / 60).toFixed(1)}
            <span class="text-sm font-normal text-muted-foreground">/min</span>
            <span class="ml-2 text-sm font-normal text-muted-foreground">
              {count(lastHour.completed)} completed
            </span>
          </div>
        </div>
        <div class="rounded-lg border border-border bg-card px-4 py-3 shadow-sm">
          <div class="text-xs text-muted-foreground">Failure rate (last hour)</div>
          <div
            class={`mt-0.5 text-lg font-semibold tabular-nums ${
              failureRate >= 10 ? "text-red-600 dark:text-red-400" : ""
            }`}
          >
            {failureRate.toFixed(1)}%
            <span class="ml-2 text-sm font-normal text-muted-foreground">
              {count(lastHour.failed)} of {count(finished)} finished
            </span>
          </div>
        </div>
        <div class="rounded-lg border border-border bg-card px-4 py-3 shadow-sm">
          <div class="text-xs text-muted-foreground">Created (last hour)</div>
          <div class="mt-0.5 text-lg font-semibold tabular-nums">
            {count(lastHour.created)}
            <span class="ml-2 text-sm font-normal text-muted-foreground">
              {count(counts.pending)} waiting
            </span>
          </div>
        </div>
      </div>
      <div class="mt-3 grid grid-cols-1 gap-3 lg:grid-cols-3">
        <Card title="Trend" class="lg:col-span-2">
          <TrendChart range={data.range} points={data.points} />
        </Card>
        <Card
          title="Workers online"
          actions={<a href="/workers" class={`${LINK} text-xs text-muted-foreground`}>Details</a>}
        >
          <div data-live="workers">
            <WorkerSummary workers={data.workers} running={data.running} now={now} />
          </div>
        </Card>
      </div>
      <Card
        title="Recent jobs"
        class="mt-3"
        actions={<a href="/jobs" class={`${LINK} text-xs text-muted-foreground`}>All jobs</a>}
      >
        <div data-live="recent">
          <JobRows jobs={data.recent} now={now} />
        </div>
      </Card>
    </>
  );
});
