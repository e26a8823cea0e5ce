/** The benchmark's pure helpers: percentiles, wrk parsing, the comparison summary. */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { median, percentile } from "../bench/util.ts";
import { parseWrk, wrkDurationMs } from "../bench/http_load.ts";
import { type Line, parseLines, summarize } from "../bench/compare_summary.ts";
import { benchPayload, payloadIndex } from "../bench/enqueue.ts";

Deno.test("bench: nearest-rank percentiles and medians as the peers' harness computes them", () => {
  const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assertEquals(percentile(xs, 50), 5);
  assertEquals(percentile(xs, 95), 10);
  assertEquals(percentile([], 50), null);
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 2, 3]), 2.5);
});

Deno.test("bench: a job's index survives the strict notification payload", () => {
  assertEquals(payloadIndex(benchPayload(42)), 42);
  assertEquals(payloadIndex(benchPayload(-1)), -1);
  assertEquals(payloadIndex({ message: "hello" }), null);
  assertEquals(payloadIndex(null), null);
});

Deno.test("bench: wrk's latency report is parsed", () => {
  const out = `Running 10s test @ http://127.0.0.1:8000/api/jobs
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.10ms    2.00ms  40.00ms   80.00%
  Latency Distribution
     50%    4.80ms
     75%    6.00ms
     90%    7.50ms
     99%  850.00us
  51234 requests in 10.01s, 20.00MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   5118.28
`;
  const r = parseWrk(out);
  assertEquals(r.requests, 51234);
  assertEquals(r.seconds, 10.01);
  assertEquals(r.non2xx, 3);
  assertEquals(r.p50, 4.8);
  assertEquals(r.p99, 0.85);
  assertEquals(wrkDurationMs("1.5s"), 1500);
  assertEquals(wrkDurationMs("nonsense"), null);
});

Deno.test("bench: the comparison summary gives medians, ratios and goals", () => {
  const line = (peer: string, config: string, metric: string, value: number, run: string) =>
    JSON.stringify({ peer, config, metric, value, run });
  const text = [
    line("jobq", "default", "drain_jobs_per_s", 30000, "1"),
    line("jobq", "default", "drain_jobs_per_s", 40000, "2"),
    line("jobq", "default", "drain_jobs_per_s", 50000, "3"),
    line("graphile-worker", "tuned", "drain_jobs_per_s", 20000, "1"),
    line("pg-boss", "tuned", "drain_jobs_per_s", 10000, "1"),
    line("raw", "claim100", "drain_jobs_per_s", 25000, "1"),
    line("jobq", "default", "pickup_latency_p50_ms", 3, "1"),
    line("graphile-worker", "tuned", "pickup_latency_p50_ms", 4, "1"),
    "not json",
  ].join("\n");
  const lines: Line[] = parseLines(text);
  assertEquals(lines.length, 8);
  const md = summarize(lines);
  assert(md.includes("| jobq default | 3 | – | – | – | 40,000 (30,000–50,000)"), md);
  assert(md.includes("2.00×"), md); // 40,000 / 20,000
  assert(md.includes("| drain ≥ 1.5× graphile-worker's best config | met |"), md);
  assert(md.includes("| drain ≥ 5× pg-boss tuned | NOT met |"), md);
  assert(md.includes("| pickup p50 ≤ graphile-worker's p50 | met |"), md);
  assert(md.includes("| batch enqueue ≥ graphile-worker addJobs | not measured |"), md);
});
