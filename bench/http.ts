/**
 * HTTP phase: `POST /api/jobs` throughput and latency at 32 connections
 * (goal: ≥ 5,000 req/s at p99 ≤ 20 ms), measured with wrk against the real
 * web process (`main.ts`) started on a free loopback port and the scratch
 * database. wrk (`apt-get install -y wrk`) is required; without it the
 * phase reports an error line and the run goes on.
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

/** Milliseconds from a wrk duration such as `1.23ms`, `850.00us` or `1.02s`. */
export function wrkDurationMs(text: string): number | null {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return null;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

/** The numbers of a `wrk --latency` report. */
export interface WrkReport {
  requests: number;
  seconds: number;
  non2xx: number;
  socketErrors: number;
  p50: number | null;
  p75: number | null;
  p90: number | null;
  p99: number | null;
}

/** Parses wrk's text report (with `--latency`). */
export function parseWrk(out: string): WrkReport {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(out);
    return m ? wrkDurationMs(m[1]) : null;
  };
  const done = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out);
  const seconds = done
    ? Number(done[2]) * (done[3] === "ms" ? 0.001 : done[3] === "m" ? 60 : 1)
    : NaN;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: done ? Number(done[1]) : 0,
    seconds,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    p50: pct("50"),
    p75: pct("75"),
    p90: pct("90"),
    p99: pct("99"),
  };
}

/** Runs the phase; emits `http_post_jobs_req_per_s` and its latency percentiles. */
export async function runHttp(db: Scratch, opts: {
  seconds: number;
  connections: number;
}, emit: Emit): Promise<void> {
  await resetTables(db.admin);
  const port = freePort();
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: ROOT,
    env: {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const errText = server.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let serverLog = "";
  (async () => {
    for (;;) {
      const { value, done } = await errText.read();
      if (done) break;
      serverLog = (serverLog + value).slice(-4000);
    }
  })();
  const base = `http://127.0.0.1:${port}`;
  const body = JSON.stringify({ type: BENCH_TYPE, payload: benchPayload(0) });
  const dir = await Deno.makeTempDir({ prefix: "jobq-bench-http-" });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await fetch(`${base}/healthz`);
        await r.body?.cancel();
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`web server did not start: ${serverLog}`);
      await sleep(100);
    }
    const probe = await fetch(`${base}/api/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const probeText = await probe.text();
    if (probe.status !== 201) {
      throw new Error(`POST /api/jobs answered ${probe.status}: ${probeText.slice(0, 200)}`);
    }
    const script = `${dir}/post.lua`;
    await Deno.writeTextFile(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${
        JSON.stringify(body)
      }\n`,
    );
    await resetTables(db.admin);
    await settle(db.admin);
    const web0 = await cpuSeconds(server.pid);
    const pg0 = await backendCpuSeconds(db);
    const commits0 = await commits(db);
    const machine0 = await machineJiffies();
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("wrk", {
        args: [
          "-t2",
          `-c${opts.connections}`,
          `-d${opts.seconds}s`,
          "--latency",
          "-s",
          script,
          `${base}/api/jobs`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new Error("wrk is not installed (apt-get install -y wrk)");
      }
      throw err;
    }
    const web1 = await cpuSeconds(server.pid);
    const pg1 = await backendCpuSeconds(db);
    // Less the bench's own three queries since commits0 (its own, the backend list, this one).
    const commitCount = (await commits(db)) - commits0 - 3;
    const machine1 = await machineJiffies();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
    const w = parseWrk(text);
    const [{ stored }] = await db.admin<{ stored: number }[]>`
      SELECT count(*)::int AS stored FROM job`;
    const rps = jobsPerSecond(w.requests, w.seconds * 1000);
    const perReq = (x: number | null) => w.requests && x !== null ? (x * 1000) / w.requests : null;
    const extra = {
      connections: opts.connections,
      seconds: round(w.seconds, 2),
      requests: w.requests,
      non_2xx: w.non2xx,
      socket_errors: w.socketErrors,
      stored,
      p50_ms: w.p50,
      p75_ms: w.p75,
      p90_ms: w.p90,
      p99_ms: w.p99,
      web_cpu_ms_per_req: round(perReq(web0 !== null && web1 !== null ? web1 - web0 : null), 3),
      postgres_cpu_ms_per_req: round(perReq(pg1 - pg0), 3),
      commits_per_req: w.requests ? round(commitCount / w.requests, 3) : null,
      machine_busy_pct: machine0 && machine1
        ? round((100 * (machine1.busy - machine0.busy)) / (machine1.total - machine0.total))
        : null,
      goal: "≥ 5000 req/s, p99 ≤ 20 ms",
    };
    emit("http_post_jobs_req_per_s", rps, extra);
    emit("http_post_jobs_p50_ms", w.p50, extra);
    emit("http_post_jobs_p99_ms", w.p99, extra);
    say(
      `  http: POST /api/jobs ${Math.round(rps)} req/s at ${opts.connections} connections, ` +
        `p50 ${w.p50} ms, p99 ${w.p99} ms, non-2xx ${w.non2xx}, stored ${stored}; ` +
        `CPU per request: web ${extra.web_cpu_ms_per_req} ms, postgres ${extra.postgres_cpu_ms_per_req} ms; ` +
        `${extra.commits_per_req} commits/request; machine ${extra.machine_busy_pct}% busy`,
    );
  } finally {
    try {
      server.kill("SIGTERM");
    } catch {
      // already gone
    }
    await server.status;
    await Deno.remove(dir, { recursive: true });
  }
}
