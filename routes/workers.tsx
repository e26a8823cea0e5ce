/** `/workers`: live worker processes — their Web Worker slots, heartbeats and the jobs they run now. */
import { define } from "@/utils.ts";
import { page } from "fresh";
import { jobs, workers } from "@/lib/queue/mod.ts";
import { Card, PageHeader, RelativeTime } from "@/components/ui.tsx";
import { exactTime } from "@/components/format.ts";
import { JsonTree } from "@/components/JsonTree.tsx";
import {
  jobsOf,
  LATE_AFTER_SECONDS,
  RunningJobs,
  SlotBar,
  SlotList,
  slotsOf,
} from "@/components/Workers.tsx";
import { Empty } from "@/components/ui.tsx";
import LiveRegion from "@/islands/LiveRegion.tsx";

export const handler = define.handlers({
  async GET(ctx) {
    const [ws, running] = await Promise.all([
      workers.list(ctx.state.sql),
      jobs.list(ctx.state.sql, { status: ["processing"], limit: 100, sort: "updated_at" }),
    ]);
    return page({ workers: ws, running: running.items, now: ctx.state.now() ?? new Date() });
  },
});

export default define.page<typeof handler>(({ data }) => {
  const { now } = data;
  const slots = data.workers.reduce((n, w) => n + w.concurrency, 0);
  const unowned = data.running.filter((j) => !data.workers.some((w) => jobsOf(w, [j]).length));
  return (
    <>
      <PageHeader
        title="Workers"
        description={`${data.workers.length} process${
          data.workers.length === 1 ? "" : "es"
        }, ${slots} Web Worker slots, ${data.running.length} jobs running`}
        actions={<LiveRegion mode="swap" pollMs={5000} />}
      />
      <div data-live="workers" class="space-y-3">
        {data.workers.length === 0 && (
          <Card>
            <Empty>
              No worker is running. Start one with <code class="font-mono">deno task worker</code>
              {" "}
              (or <code class="font-mono">deno task start</code>).
            </Empty>
          </Card>
        )}
        {data.workers.map((w) => {
          const slots = slotsOf(w, data.running, now);
          const busy = slots.filter((s) => s.job).length;
          const age = (now.getTime() - new Date(w.heartbeat_at).getTime()) / 1000;
          const state = w.stopping
            ? "stopping"
            : age > LATE_AFTER_SECONDS
            ? "heartbeat late"
            : "online";
          return (
            <Card>
              <div class="flex flex-wrap items-center gap-x-4 gap-y-2 border-b border-border px-4 py-3">
                <span
                  class={`h-2.5 w-2.5 rounded-full ${
                    state === "online"
                      ? "bg-emerald-500"
                      : state === "stopping"
                      ? "bg-amber-500"
                      : "bg-red-500"
                  }`}
                  aria-hidden="true"
                />
                <div class="min-w-0 flex-1">
                  <h2 class="truncate text-sm font-semibold">
                    {w.host} <span class="font-normal text-muted-foreground">pid {w.pid}</span>
                  </h2>
                  <p class="truncate font-mono text-xs text-muted-foreground">{w.id}</p>
                </div>
                <dl class="flex gap-5 text-xs">
                  <div>
                    <dt class="text-muted-foreground">State</dt>
                    <dd class="font-medium">{state}</dd>
                  </div>
                  <div>
                    <dt class="text-muted-foreground">Heartbeat</dt>
                    <dd title={exactTime(w.heartbeat_at)}>
                      <RelativeTime date={w.heartbeat_at} now={now} />
                    </dd>
                  </div>
                  <div>
                    <dt class="text-muted-foreground">Up since</dt>
                    <dd>
                      <RelativeTime date={w.started_at} now={now} />
                    </dd>
                  </div>
                </dl>
              </div>
              <div class="space-y-3 px-4 py-3">
                <div class="flex items-center gap-3">
                  <h3 class="text-xs font-medium text-muted-foreground">
                    Web Workers · {busy}/{w.concurrency} busy
                  </h3>
                  <SlotBar slots={slots} />
                </div>
                <SlotList worker={w} slots={slots} />
                {Object.keys(w.info ?? {}).length > 0 && (
                  <details>
                    <summary class="cursor-pointer text-xs text-muted-foreground">
                      Reported details
                    </summary>
                    <div class="mt-2 rounded-md bg-muted p-2">
                      <JsonTree value={w.info} />
                    </div>
                  </details>
                )}
              </div>
            </Card>
          );
        })}
        {unowned.length > 0 && (
          <Card title="Running on processes not listed here">
            <div class="px-4 py-3">
              <RunningJobs jobs={unowned} now={now} />
            </div>
          </Card>
        )}
      </div>
    </>
  );
});
