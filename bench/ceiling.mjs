// The database's own drain ceiling for today's storage, as one JSON line per
// run in the format of our drain lines: the peers' ceiling bench
// (shared/peers/ceiling/bench.mjs, unchanged) for design A2 (a job_event row
// per claim and per completion), C connections, batches of B, the index plan.
//
//   node bench/ceiling.mjs --peers /tmp/peers [--run 1] [--c 2] [--b 256]
//
// The bench drains fixed databases (ceil_*) on postgres@127.0.0.1:5432; here
// its designs are pointed at a scratch database jobq_ceiling_<pid> instead,
// created with A2's schema and dropped at the end. Its two warm-up drains run
// A2 as well (at C=2/B=64 and C=4/B=256); only the measured drain is reported.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const { values: args } = parseArgs({
  options: {
    peers: { type: "string" },
    run: { type: "string", default: "1" },
    c: { type: "string", default: "2" },
    b: { type: "string", default: "256" },
  },
});
if (!args.peers) {
  process.stderr.write("usage: node bench/ceiling.mjs --peers DIR [--run 1] [--c 2] [--b 256]\n");
  process.exit(2);
}
const ceilingDir = path.join(path.resolve(args.peers), "ceiling");
const pg = createRequire(path.join(ceilingDir, "bench.mjs"))("pg");
const { DBS, DESIGNS } = await import(pathToFileURL(path.join(ceilingDir, "designs.mjs")).href);

const base = { host: "127.0.0.1", port: 5432, user: "postgres", password: "postgres" };
const name = `jobq_ceiling_${process.pid}`;
const admin = new pg.Client({ ...base, database: "postgres" });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${name}`);
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "jobq-ceiling-")), "results.jsonl");
let code = 0;
try {
  const c = new pg.Client({ ...base, database: name });
  await c.connect();
  await c.query(DBS.ceil_a2);
  // The bench's WAL breakdown (outside its timed section) reads WAL that a busy
  // server may already have recycled: that read answers no rows instead of failing.
  await c.query("CREATE SCHEMA walinspect");
  await c.query("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA walinspect");
  await c.query(`
    CREATE FUNCTION public.pg_get_wal_stats(start_lsn pg_lsn, end_lsn pg_lsn,
      OUT "resource_manager/record_type" text, OUT count int8, OUT record_size int8,
      OUT fpi_size int8) RETURNS SETOF record LANGUAGE plpgsql AS $$
    BEGIN
      RETURN QUERY SELECT s."resource_manager/record_type", s.count, s.record_size, s.fpi_size
        FROM walinspect.pg_get_wal_stats(start_lsn, end_lsn) AS s;
    EXCEPTION WHEN OTHERS THEN RETURN;
    END $$`);
  await c.end();
  const a2 = { ...DESIGNS.A2, db: name };
  // bench.mjs warms up with designs C and A: both become A2 on the scratch database.
  for (const k of Object.keys(DESIGNS)) DESIGNS[k] = a2;
  process.env.PLANS = "idx";
  process.argv = [
    process.argv[0],
    path.join(ceilingDir, "bench.mjs"),
    out,
    "1",
    "A2",
    args.c,
    args.b,
  ];
  const log = console.log;
  console.log = (...xs) => process.stderr.write(`${xs.join(" ")}\n`);
  try {
    await import(pathToFileURL(path.join(ceilingDir, "bench.mjs")).href);
  } finally {
    console.log = log;
  }
  for (const l of fs.readFileSync(out, "utf8").trim().split("\n")) {
    const r = JSON.parse(l);
    const line = {
      peer: "ceiling",
      config: `A2 C${r.C} B${r.B}`,
      metric: "drain_jobs_per_s",
      value: Number(r.jobsPerSec.toFixed(2)),
      jobs: r.jobs,
      concurrency: r.C,
      elapsed_ms: Number(r.wallMs.toFixed(1)),
      completed: r.jobs,
      verified: r.ok,
      wal_bytes_per_job: Math.round(r.walPerJob),
      worker_cpu_s: Number((r.nodeCpuMs / 1000).toFixed(3)),
      postgres_cpu_s: Number((r.backendCpuMs / 1000).toFixed(3)),
      commits: r.commits,
      load1: r.load1,
      node: process.version,
      run: args.run,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
} catch (err) {
  code = 1;
  process.stderr.write(`ceiling failed: ${err.stack ?? err}\n`);
  process.stdout.write(
    `${
      JSON.stringify({
        peer: "ceiling",
        config: `A2 C${args.c} B${args.b}`,
        metric: "drain",
        value: null,
        error: String(err.message ?? err),
        run: args.run,
      })
    }\n`,
  );
} finally {
  // A failed drain leaves the bench's connections open: dropping the database ends them.
  process.on("uncaughtException", (err) => {
    if (err?.code !== "57P01") throw err;
  });
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
}
process.exit(code);
