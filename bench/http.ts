/**
 * HTTP phase: `POST /api/jobs` throughput and latency at 32 connections
 * against the real web process (`main.ts`, started on a free loopback port
 * with the scratch database), and the same load against a bare `Deno.serve`
 * answering 201 (goal: ≥ 0.25× the bare server's req/s, p99 ≤ 20 ms, no
 * errors). The load generator is autocannon (default) or wrk, see
 * bench/http_load.ts; when it is missing the phase reports an error line
 * and the run goes on.
 */
import {
  backendCpuSeconds,
  commits,
  cpuSeconds,
  type Emit,
  jobsPerSecond,
  resetTables,
  round,
  say,
  settle,
  sleep,
} from "./util.ts";
import type { Scratch } from "./scratch.ts";
import { BENCH_TYPE, benchPayload } from "./enqueue.ts";
import { runLoad } from "./http_load.ts";

const ROOT = new URL("..", import.meta.url);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Busy and total jiffies of the whole machine (/proc/stat), for the share of CPU in use. */
async function machineJiffies(): Promise<{ busy: number; total: number } | null> {
  try {
    const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - (v[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** A child process serving HTTP on a loopback port, with the tail of its stderr. */
interface Served {
  pid: number;
  base: string;
  log(): string;
  stop(): Promise<void>;
}

function serve(args: string[], env: Record<string, string>, port: number): Served {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + chunk).slice(-4000);
    }
  })();
  return {
    pid: child.pid,
    base: `http://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}

/** Waits until `url` answers `status` to the POST of `body` (30 s at most). */
async function waitForAnswer(s: Served, path: string, body: string, status: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${s.base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await r.text();
      if (r.status === status) return;
      throw new Error(`POST ${path} answered ${r.status}: ${text.slice(0, 200)}`);
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start: ${s.log()}`);
    await sleep(100);
  }
}

/**
 * Runs the phase: the real web process, then a bare `Deno.serve` answering
 * 201 (bench/bare_server.ts), each loaded for `seconds` with `connections`
 * connections. Emits `http_post_jobs_req_per_s`, `_p50_ms`, `_p99_ms` and
 * `http_bare_req_per_s`, `_p50_ms`, `_p99_ms` (extras: errors, non-2xx, CPU).
 */
export async function runHttp(db: Scratch, opts: {
  seconds: number;
  connections: number;
  client: "autocannon" | "wrk";
}, emit: Emit): Promise<void> {
  await resetTables(db.admin);
  const body = JSON.stringify({ type: BENCH_TYPE, payload: benchPayload(0) });
  const load = { body, connections: opts.connections, seconds: opts.seconds };
  const webPort = freePort();
  const web = serve(["run", "-A", "main.ts"], {
    DATABASE_URL: db.url,
    PORT: String(webPort),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
  }, webPort);
  try {
    await waitForAnswer(web, "/api/jobs", body, 201);
    await resetTables(db.admin);
    await settle(db.admin);
    const web0 = await cpuSeconds(web.pid);
    const pg0 = await backendCpuSeconds(db);
    const commits0 = await commits(db);
    const machine0 = await machineJiffies();
    const w = await runLoad(opts.client, { ...load, url: `${web.base}/api/jobs` });
    const web1 = await cpuSeconds(web.pid);
    const pg1 = await backendCpuSeconds(db);
    // Less the bench's own three queries since commits0 (its own, the backend list, this one).
    const commitCount = (await commits(db)) - commits0 - 3;
    const machine1 = await machineJiffies();
    const [{ stored }] = await db.admin<{ stored: number }[]>`
      SELECT count(*)::int AS stored FROM job`;
    const rps = jobsPerSecond(w.requests, w.seconds * 1000);
    const perReq = (x: number | null) => w.requests && x !== null ? (x * 1000) / w.requests : null;
    const extra = {
      client: opts.client,
      connections: opts.connections,
      seconds: round(w.seconds, 2),
      requests: w.requests,
      non_2xx: w.non2xx,
      errors: w.errors,
      stored,
      p50_ms: w.p50,
      p90_ms: w.p90,
      p99_ms: w.p99,
      web_cpu_ms_per_req: round(perReq(web0 !== null && web1 !== null ? web1 - web0 : null), 3),
      postgres_cpu_ms_per_req: round(perReq(pg1 - pg0), 3),
      commits_per_req: w.requests ? round(commitCount / w.requests, 3) : null,
      machine_busy_pct: machine0 && machine1
        ? round((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total))
        : null,
    };
    emit("http_post_jobs_req_per_s", rps, extra);
    emit("http_post_jobs_p50_ms", w.p50, extra);
    emit("http_post_jobs_p99_ms", w.p99, extra);
    say(
      `  http: POST /api/jobs ${Math.round(rps)} req/s at ${opts.connections} connections ` +
        `(${opts.client}), p50 ${w.p50} ms, p99 ${w.p99} ms, non-2xx ${w.non2xx}, errors ${w.errors}, ` +
        `stored ${stored}; CPU per request: web ${extra.web_cpu_ms_per_req} ms, ` +
        `postgres ${extra.postgres_cpu_ms_per_req} ms; ${extra.commits_per_req} commits/request; ` +
        `machine ${extra.machine_busy_pct}% busy`,
    );
  } finally {
    await web.stop();
  }

  const barePort = freePort();
  const bare = serve(
    ["run", "-A", "bench/bare_server.ts", "--port", String(barePort)],
    {},
    barePort,
  );
  try {
    await waitForAnswer(bare, "/api/jobs", body, 201);
    const cpu0 = await cpuSeconds(bare.pid);
    const b = await runLoad(opts.client, { ...load, url: `${bare.base}/api/jobs` });
    const cpu1 = await cpuSeconds(bare.pid);
    const rps = jobsPerSecond(b.requests, b.seconds * 1000);
    const extra = {
      client: opts.client,
      connections: opts.connections,
      seconds: round(b.seconds, 2),
      requests: b.requests,
      non_2xx: b.non2xx,
      errors: b.errors,
      p50_ms: b.p50,
      p90_ms: b.p90,
      p99_ms: b.p99,
      server_cpu_ms_per_req: b.requests && cpu0 !== null && cpu1 !== null
        ? round(((cpu1 - cpu0) * 1000) / b.requests, 3)
        : null,
    };
    emit("http_bare_req_per_s", rps, extra);
    emit("http_bare_p50_ms", b.p50, extra);
    emit("http_bare_p99_ms", b.p99, extra);
    say(
      `  http: bare Deno.serve ${Math.round(rps)} req/s, p50 ${b.p50} ms, p99 ${b.p99} ms, ` +
        `non-2xx ${b.non2xx}, errors ${b.errors}; CPU per request ${extra.server_cpu_ms_per_req} ms`,
    );
  } finally {
    await bare.stop();
  }
}
