/**
 * CPU per query of postgres.js over node:net against lib/pg_socket.ts (Deno.connect):
 * `SELECT $1::int`, sequential and with `--inflight` at once, interleaved A/B rounds.
 *
 *   DATABASE_URL=postgres://… deno run -A bench/pg_socket.ts --queries 20000 --rounds 3
 */
import process from "node:process";
import { openPool, type Sql } from "../lib/db.ts";

function arg(name: string, dflt: number): number {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  const i = Deno.args.indexOf(`--${name}`);
  const v = a ? a.split("=")[1] : i >= 0 ? Deno.args[i + 1] : undefined;
  return v === undefined ? dflt : Number(v);
}
const url = Deno.env.get("DATABASE_URL");
if (!url) throw new Error("set DATABASE_URL");
const QUERIES = arg("queries", 20000);
const ROUNDS = arg("rounds", 3);
const INFLIGHT = arg("inflight", 16);

interface Sample {
  usPerQuery: number;
  qps: number;
}

/** CPU time of this process so far (user + system), microseconds. */
function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function run(sql: Sql, inflight: number): Promise<Sample> {
  // Warm: connections open, statement prepared.
  await Promise.all(Array.from({ length: inflight }, (_, i) => sql`SELECT ${i}::int`));
  const c0 = cpuUs();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (next < QUERIES) {
      const i = next++;
      const [row] = await sql`SELECT ${i}::int AS v`;
      if (row.v !== i) throw new Error("wrong answer");
    }
  }));
  const ms = performance.now() - t0;
  const cpu = cpuUs() - c0;
  return { usPerQuery: cpu / QUERIES, qps: QUERIES / (ms / 1000) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[], d = 1) =>
  `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;

const results: Record<string, Sample[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so drift in the machine's load falls on both alike.
  const order = round % 2 === 0 ? ["node", "deno"] as const : ["deno", "node"] as const;
  for (const socket of order) {
    for (const inflight of [1, INFLIGHT]) {
      const sql = openPool(url, { max: inflight === 1 ? 1 : 4, socket, name: "bench-pg-socket" });
      try {
        const s = await run(sql, inflight);
        (results[`${socket} inflight=${inflight}`] ??= []).push(s);
        console.error(
          `round ${round + 1} ${socket} inflight=${inflight}: ${
            s.usPerQuery.toFixed(1)
          } µs CPU/query, ${s.qps.toFixed(0)} q/s`,
        );
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
  }
}
console.log(`\n${QUERIES} queries × ${ROUNDS} rounds; median (min–max)`);
console.log("| socket | in flight | CPU µs/query | queries/s |");
console.log("| --- | --- | --- | --- |");
for (const [k, ss] of Object.entries(results)) {
  const [socket, inflight] = k.split(" inflight=");
  console.log(
    `| ${socket} | ${inflight} | ${fmt(ss.map((s) => s.usPerQuery))} | ${
      fmt(ss.map((s) => s.qps), 0)
    } |`,
  );
}
