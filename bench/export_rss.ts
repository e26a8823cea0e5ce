/**
 * Memory of `GET /api/jobs/export` over a big table: seeds `--count` jobs
 * (default 1,000,000) into a scratch database with `deno task seed`, starts
 * the real web server (`deno run -A main.ts`, as `deno task web`) on it as a
 * subprocess, downloads the whole export over HTTP in each format (and a
 * filtered one, as a smaller reference) while sampling the server's
 * `/proc/<pid>/status` every 20 ms, and prints rows, bytes, seconds and the
 * server's RSS before and at its peak during each download (plus VmHWM, the
 * process's lifetime peak). Flat memory: the peak during a 1M-row export is
 * about the peak during a small one. The scratch database is dropped at the
 * end unless `--keep`; `--use-db URL` runs on such a kept database instead
 * (no seeding, not dropped).
 *
 *   DATABASE_URL=postgres://… deno run -A bench/export_rss.ts [--count 1000000] [--keep]
 *
 * `--v8-flags F` passes V8 flags to the server (`deno task start` runs the web
 * process with `--max-semi-space-size=1,--max-old-space-size=256`).
 * `--slow-kbps N` also reads one CSV export at N KiB/s for 20 s: a slow client
 * must slow the cursor down, not fill the server's memory.
 */
import { parseArgs } from "node:util";
import { createScratch } from "./scratch.ts";
import { openPool } from "../lib/db.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "1000000" },
    keep: { type: "boolean", default: false },
    "slow-kbps": { type: "string" },
    "v8-flags": { type: "string" },
    "use-db": { type: "string" },
  },
});
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) throw new Error("--count: a whole number ≥ 1");
const serverUrl = Deno.env.get("DATABASE_URL");
if (!serverUrl) throw new Error("set DATABASE_URL to the PostgreSQL server to use");
const ROOT = new URL("../", import.meta.url);
const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;

/** `/proc/<pid>/status` fields in bytes. */
async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (f: string) => Number(new RegExp(`${f}:\\s+(\\d+) kB`).exec(text)?.[1]) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** Samples VmRSS of `pid` until `stop()`: returns the largest seen. */
function sampler(pid: number) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, (await memory(pid)).rss);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return peak;
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const reuse = values["use-db"];
const scratch = reuse ? null : await createScratch(serverUrl, "export");
const dbUrl = reuse ?? scratch!.url;
const admin = scratch?.admin ?? openPool(dbUrl, { max: 1, name: "jobq-bench-admin" });
let server: Deno.ChildProcess | undefined;
try {
  if (scratch) {
    console.log(`seeding ${count} jobs into ${scratch.name} (deno task seed) …`);
    const seeded = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "seed", "--count", String(count)],
      cwd: ROOT,
      env: { DATABASE_URL: scratch.url },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (!seeded.success) throw new Error("deno task seed failed");
    await admin`VACUUM ANALYZE job`;
  }
  const [{ n: total }] = await admin<{ n: number }[]>`SELECT count(*)::int AS n FROM job`;

  const port = freePort();
  server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...(values["v8-flags"] ? [`--v8-flags=${values["v8-flags"]}`] : []),
      "main.ts",
    ],
    cwd: ROOT,
    env: { DATABASE_URL: dbUrl, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn" },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0;; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => (r.body?.cancel(), r.ok), () => false);
    if (ok) break;
    if (i > 600) throw new Error("the server did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = server.pid;
  // Warm up: the route modules load on first use.
  await (await fetch(`${base}/api/jobs/export?format=csv&status=processing`)).text();
  await (await fetch(`${base}/api/jobs?limit=1`)).text();
  console.log(
    `server pid ${pid} (deno run -A ${
      values["v8-flags"] ? `--v8-flags=${values["v8-flags"]} ` : ""
    }main.ts), ${total} jobs; after warm-up: ` +
      `VmRSS ${MB((await memory(pid)).rss)}, VmHWM ${MB((await memory(pid)).hwm)}`,
  );

  const runs: [string, string][] = [
    ["csv, status=failed (reference)", "format=csv&status=failed"],
    ["csv, every job", "format=csv"],
    ["ndjson, every job", "format=ndjson"],
    ["csv, every job, sort=type", "format=csv&sort=type&order=asc"],
  ];
  for (const [label, search] of runs) {
    const before = await memory(pid);
    const stop = sampler(pid);
    const t0 = performance.now();
    const res = await fetch(`${base}/api/jobs/export?${search}`);
    if (res.status !== 200) throw new Error(`${search}: ${res.status} ${await res.text()}`);
    let bytes = 0;
    let newlines = 0;
    for await (const chunk of res.body!) {
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) newlines++;
    }
    const secs = (performance.now() - t0) / 1000;
    const peak = await stop();
    const after = await memory(pid);
    // Seeded cells hold no line breaks: CSV has one line a row plus its header.
    const rows = search.startsWith("format=csv") ? newlines - 1 : newlines;
    console.log(
      `${label.padEnd(32)} rows ${String(rows).padStart(8)}  bytes ${String(bytes).padStart(10)} (${
        MB(bytes)
      })  ${secs.toFixed(1)} s  ${(rows / secs).toFixed(0)} rows/s  ` +
        `RSS before ${MB(before.rss)}, peak ${MB(peak)}, after ${MB(after.rss)}; ` +
        `VmHWM ${MB(after.hwm)}`,
    );
  }

  const kbps = Number(values["slow-kbps"] ?? 0);
  if (kbps > 0) {
    const stop = sampler(pid);
    const before = await memory(pid);
    const ac = new AbortController();
    const res = await fetch(`${base}/api/jobs/export?format=csv`, { signal: ac.signal });
    const reader = res.body!.getReader();
    const t0 = performance.now();
    let bytes = 0;
    while (performance.now() - t0 < 20_000) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      const due = (bytes / 1024 / kbps) * 1000;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    ac.abort();
    const peak = await stop();
    console.log(
      `slow client (${kbps} KiB/s for 20 s, then gone): read ${MB(bytes)}; ` +
        `RSS before ${MB(before.rss)}, peak ${MB(peak)}`,
    );
  }
} finally {
  if (server) {
    server.kill("SIGTERM");
    await server.status;
  }
  if (!scratch) await admin.end();
  else if (values.keep) {
    await admin.end();
    console.log(`kept ${scratch.url} (reuse: --use-db URL; drop it when done)`);
  } else {
    await scratch.drop();
    console.log(`dropped ${scratch.name}`);
  }
}
