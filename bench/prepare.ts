/**
 * What `DATABASE_PREPARE=false` costs: CPU per query of this process and of its
 * PostgreSQL backend, and queries per second, with named prepared statements
 * and with unnamed ones (parse, describe, then bind: one more round trip for a
 * statement with parameters), in interleaved rounds. Two statements: a trivial
 * one, and a job read by id like `jobs.get`.
 *
 *   DATABASE_URL=postgres://… deno run -A bench/prepare.ts --queries 10000 --rounds 3
 */
import process from "node:process";
import { openPool, type Sql } from "../lib/db.ts";
import { cpuSeconds } from "./util.ts";

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}
const url = Deno.env.get("DATABASE_URL");
if (!url) throw new Error("set DATABASE_URL");
const QUERIES = arg("queries", 10000);
const ROUNDS = arg("rounds", 3);

const STATEMENTS = {
  "SELECT $1::int": (sql: Sql, i: number) => sql`SELECT ${i}::int AS v`,
  "job by id": (sql: Sql, _i: number) =>
    sql`SELECT * FROM job WHERE id = ${"00000000-0000-4000-8000-000000000000"}`,
};

interface Sample {
  clientUs: number;
  serverUs: number;
  qps: number;
}

async function run(sql: Sql, q: (sql: Sql, i: number) => Promise<unknown>): Promise<Sample> {
  const [{ pid }] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  await q(sql, 0); // prepared (or not) once before counting
  const c0 = process.cpuUsage();
  const s0 = await cpuSeconds(pid);
  const t0 = performance.now();
  for (let i = 0; i < QUERIES; i++) await q(sql, i);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const s1 = await cpuSeconds(pid);
  return {
    clientUs: (c.user + c.system) / QUERIES,
    serverUs: s0 !== null && s1 !== null ? ((s1 - s0) * 1e6) / QUERIES : NaN,
    qps: QUERIES / (ms / 1000),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, Sample[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? [true, false] : [false, true];
  for (const prepare of order) {
    for (const [name, q] of Object.entries(STATEMENTS)) {
      const sql = openPool(url, { max: 1, prepare, name: "bench-prepare" });
      try {
        const s = await run(sql, q);
        (results[`${name}|${prepare}`] ??= []).push(s);
        console.error(
          `round ${round + 1} ${name} prepare=${prepare}: client ${s.clientUs.toFixed(1)} µs, ` +
            `server ${s.serverUs.toFixed(1)} µs per query, ${s.qps.toFixed(0)} q/s`,
        );
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
  }
}
console.log(`\n${QUERIES} sequential queries × ${ROUNDS} rounds; medians`);
console.log("| statement | prepare | client CPU µs/query | server CPU µs/query | queries/s |");
console.log("| --- | --- | --- | --- | --- |");
for (const [k, ss] of Object.entries(results)) {
  const [name, prepare] = k.split("|");
  console.log(
    `| ${name} | ${prepare} | ${median(ss.map((s) => s.clientUs)).toFixed(1)} | ${
      median(ss.map((s) => s.serverUs)).toFixed(1)
    } | ${median(ss.map((s) => s.qps)).toFixed(0)} |`,
  );
}
