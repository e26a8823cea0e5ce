/** The metrics server alone: `/healthz` and `/metrics` of a worker process. */
import { WorkerMetrics } from "../worker/services/metrics.ts";
import { MetricsServer } from "../worker/services/metrics_server.ts";
import { assertEquals, assertStringIncludes } from "./_helpers/assert.ts";

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

Deno.test("metrics server service", async (t) => {
  const state = { busy: 1, up: true, stopping: false };
  const metrics = new WorkerMetrics({
    busy: () => state.busy,
    runners: () => 2,
    databaseUp: () => state.up,
  });
  const server = new MetricsServer({
    worker: "w1",
    hostname: "127.0.0.1",
    port: 0,
    registry: metrics.registry,
    health: () => ({
      status: state.stopping ? "stopping" : "ok",
      stopping: state.stopping,
      database: state.up ? "up" : "down",
    }),
  });
  await server.start();
  try {
    await t.step("/healthz: 200 while running, 503 while stopping", async () => {
      let r = await get(`${server.url}/healthz`);
      assertEquals([r.status, JSON.parse(r.text)], [200, { status: "ok", database: "up" }]);
      state.stopping = true;
      r = await get(`${server.url}/healthz`);
      assertEquals([r.status, JSON.parse(r.text).status], [503, "stopping"]);
    });

    await t.step("/metrics: counters and gauges as they are when scraped", async () => {
      const job = { id: "j", type: "noop", attempt: 1 };
      metrics.finished({ job, outcome: "completed", ms: 20 });
      metrics.finished({ job, outcome: "failed", ms: 0 }, false);
      metrics.replaced("crashed");
      metrics.rescued(3);
      state.up = false;
      const { status, text } = await get(`${server.url}/metrics`);
      assertEquals(status, 200);
      for (
        const line of [
          'jobq_worker_jobs_total{type="noop",outcome="completed"} 1',
          'jobq_worker_jobs_total{type="noop",outcome="failed"} 1',
          'jobq_worker_job_duration_seconds_count{type="noop"} 1',
          'jobq_worker_runner_replacements_total{reason="crashed"} 1',
          "jobq_worker_rescued_total 3",
          "jobq_worker_runners_busy 1",
          "jobq_worker_runners 2",
          "jobq_worker_database_up 0",
        ]
      ) assertStringIncludes(text, line);
      assertEquals([metrics.counts.completed, metrics.counts.failed], [1, 1]);
    });

    await t.step("any other path is a 404", async () => {
      assertEquals((await get(`${server.url}/nope`)).status, 404);
    });
  } finally {
    await server.stop();
  }
  await t.step("stop() closes the port", async () => {
    const refused = await fetch(`${server.url}/healthz`).then(() => false, () => true);
    assertEquals(refused, true);
  });
});
