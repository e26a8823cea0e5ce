// CPU of a peer's drain, measured from /proc as bench/worker_phases.ts
// measures ours, for the peers' harness (shared/peers/run.mjs, unchanged):
//
//   node --import <repo>/bench/peer_cpu.mjs run.mjs --peer graphile-worker ... --phases drain
//
// run with the harness's folder as working directory (bench/compare.sh does). It
// watches the harness's admin client (application_name `bench-admin`): the
// drain's clock starts right after its WAL-position query, and the drain ends
// at the last completion count before the line is written. At both instants it
// reads the CPU of this Node process and of every PostgreSQL backend connected
// to the peer's database (the postmaster's children whose title names it). The
// drain line then gets `worker_cpu_s` (this process) and `postgres_cpu_s`
// (backends alive at the end, less what they had used at the start), the
// fields of our own drain lines.
import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { createRequire } from "node:module";
import { processCpuSeconds } from "./proc_cpu.mjs";

const require = createRequire(path.join(process.cwd(), "run.mjs"));
const pg = require("pg");

/** CPU seconds of a process (live threads in nanoseconds), or null when it is gone. */
const cpuSeconds = processCpuSeconds;

function parentOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

let postmaster = null;
const belongs = new Map(); // backend pid -> serves the database?

/** The postmaster: the parent of the admin connection's backend. */
function backendsOf(database) {
  if (postmaster === null) return [];
  let children = [];
  try {
    children = fs.readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8")
      .trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return children.filter((pid) => {
    if (!belongs.has(pid)) {
      let title = "";
      try {
        title = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        // gone
      }
      // "postgres: 15/main: <user> <database> <host>(<port>) <activity>"
      belongs.set(pid, title.split(" ").includes(database));
    }
    return belongs.get(pid);
  });
}

function snapshot(database) {
  const backends = new Map();
  for (const pid of backendsOf(database)) {
    const s = cpuSeconds(pid);
    if (s !== null) backends.set(pid, s);
  }
  return { self: cpuSeconds(process.pid), backends };
}

let start = null;
let last = null;

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  const result = query.call(this, config, ...rest);
  const params = this.connectionParameters;
  if (params?.application_name === "bench-admin" && typeof result?.then === "function") {
    const text = typeof config === "string" ? config : config?.text ?? "";
    if (postmaster === null && this.processID) postmaster = parentOf(this.processID);
    result.then(() => {
      if (text.includes("pg_current_wal_insert_lsn() AS lsn")) {
        start = snapshot(params.database);
        last = null;
      } else if (start !== null && !text.includes("pg_wal_lsn_diff")) {
        last = snapshot(params.database);
      }
    }, () => {});
  }
  return result;
};

const round = (x) => (x === null || !Number.isFinite(x) ? null : Number(x.toFixed(2)));

const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (typeof chunk === "string" && chunk.includes('"metric":"drain_jobs_per_s"') && start && last) {
    try {
      const line = JSON.parse(chunk);
      let pgCpu = 0;
      for (const [pid, s] of last.backends) pgCpu += s - (start.backends.get(pid) ?? 0);
      line.worker_cpu_s = start.self !== null && last.self !== null
        ? round(last.self - start.self)
        : null;
      line.postgres_cpu_s = round(pgCpu);
      line.postgres_backends = last.backends.size;
      chunk = `${JSON.stringify(line)}\n`;
    } catch {
      // not one of the harness's lines: written as it is
    }
    start = null;
    last = null;
  }
  return write(chunk, ...rest);
};
