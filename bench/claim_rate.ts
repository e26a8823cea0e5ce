/**
 * Claims per second of `jobs.claim` on the plain path (no paused or limited
 * queue): N due jobs in a scratch database, ANALYZEd and CHECKPOINTed, then C
 * claimers (a connection each) claim `--limit` jobs per statement until
 * none is left. With `--limited`, the jobs are in a queue limited to more
 * than the claimers can hold, so every claim takes that queue's path (its
 * slot check and claim lock). Prints one line; runs `--rounds` times.
 *
 *   deno run -A bench/claim_rate.ts [--jobs 20000] [--claimers 4] [--limit 1]
 *     [--rounds 3] [--limited] [--database-url URL]
 */
import { parseArgs } from "node:util";
import { openPool } from "../lib/db.ts";
import { jobs } from "../lib/queue/mod.ts";
import { createScratch } from "./scratch.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    jobs: { type: "string", default: "20000" },
    claimers: { type: "string", default: "4" },
    limit: { type: "string", default: "1" },
    rounds: { type: "string", default: "3" },
    limited: { type: "boolean", default: false },
    "database-url": { type: "string" },
  },
});
const server = a["database-url"] ?? Deno.env.get("DATABASE_URL");
if (!server) throw new Error("claim_rate: set DATABASE_URL or --database-url");
const N = Number(a.jobs);
const C = Number(a.claimers);
const LIMIT = Number(a.limit);

const scratch = await createScratch(server, "claims");
const pools = Array.from({ length: C }, () => openPool(scratch.url, { max: 1 }));
try {
  for (let round = 1; round <= Number(a.rounds); round++) {
    await scratch.admin`TRUNCATE job, job_event`;
    const queue = a.limited ? "lim" : undefined;
    for (let i = 0; i < N; i += 1000) {
      await jobs.enqueueBatch(scratch.admin, {
        jobs: Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({
          type: "email",
          payload: { to: `u${i + k}@example.com`, subject: "s", body: "b" },
          ...(queue ? { queue } : {}),
        })),
      });
    }
    if (a.limited) {
      await scratch.admin`UPDATE queue SET concurrency = ${N * 2} WHERE name = 'lim'`;
    }
    await scratch.admin`VACUUM ANALYZE job`;
    await scratch.admin`CHECKPOINT`;
    await Promise.all(pools.map((p) => p`SELECT 1`));
    let claimed = 0;
    const t0 = performance.now();
    await Promise.all(pools.map(async (p, i) => {
      for (;;) {
        const got = await jobs.claim(p, {
          worker: `bench-${i}`,
          limit: LIMIT,
          leaseSeconds: 60,
          lean: true,
        });
        if (got.length === 0) return;
        claimed += got.length;
      }
    }));
    const s = (performance.now() - t0) / 1000;
    console.log(
      `round ${round}: ${claimed} claims by ${C} claimers (limit ${LIMIT}${
        a.limited ? ", limited queue" : ""
      }) in ${s.toFixed(2)} s = ${Math.round(claimed / s)} claims/s`,
    );
  }
} finally {
  await Promise.all(pools.map((p) => p.end()));
  await scratch.drop();
}
