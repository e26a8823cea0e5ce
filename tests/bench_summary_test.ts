/**
 * The benchmark's pure helpers: percentiles, wrk and autocannon parsing, the
 * comparison summary and its Goals table (from recorded JSON lines).
 */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { median, percentile } from "../bench/util.ts";
import { parseAutocannon, parseWrk, wrkDurationMs } from "../bench/http_load.ts";
import { isFlat } from "../bench/memory_real.ts";
import { cpuMsPerJob, goals } from "../bench/compare_goals.ts";
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
  assert(
    md.includes("| jobq default ÷ graphile-worker tuned | jobq default ÷ pg-boss tuned |"),
    md,
  );
  assert(md.includes("### Goals"), md);
});

Deno.test("bench: autocannon's JSON report is parsed, errors and non-2xx apart", () => {
  const json = JSON.stringify({
    url: "http://127.0.0.1:8000/api/jobs",
    connections: 32,
    duration: 10.02,
    errors: 2,
    timeouts: 1,
    non2xx: 5,
    "1xx": 0,
    "2xx": 29995,
    "3xx": 0,
    "4xx": 5,
    "5xx": 0,
    latency: { p50: 8, p90: 12, p99: 31 },
    requests: { total: 30003, average: 3000 },
  });
  const r = parseAutocannon(`Running 10s test\n${json}`);
  assertEquals(r.requests, 30000);
  assertEquals(r.seconds, 10.02);
  assertEquals(r.non2xx, 5);
  assertEquals(r.errors, 3);
  assertEquals([r.p50, r.p90, r.p99], [8, 12, 31]);
});

Deno.test("bench: RSS is flat when the 100% sample is within 10% of the 50% sample", () => {
  assertEquals(isFlat([150, 180, 185, 195]), true);
  assertEquals(isFlat([150, 180, 190, 199]), false);
  assertEquals(isFlat([150, null, 190, 199]), null);
});

/** Recorded lines of one two-round compare run (fields as bench/main.ts, run.mjs and peer_cpu.mjs write them). */
const RECORDED = [
  // ours
  `{"peer":"jobq","config":"default","metric":"enqueue_batch_jobs_per_s","value":14000,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"enqueue_batch_jobs_per_s","value":16000,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"drain_jobs_per_s","value":5000,"completed":20000,"worker_cpu_s":4.4,"postgres_cpu_s":3.6,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"drain_jobs_per_s","value":6000,"completed":20000,"worker_cpu_s":4.0,"postgres_cpu_s":3.2,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"pickup_latency_p50_ms","value":4,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"pickup_latency_p50_ms","value":5,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"pickup_latency_p99_ms","value":8,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"pickup_latency_p99_ms","value":9,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"http_post_jobs_req_per_s","value":3000,"requests":30000,"non_2xx":0,"errors":0,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"http_post_jobs_p99_ms","value":36,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"http_post_jobs_req_per_s","value":2800,"requests":28000,"non_2xx":2,"errors":0,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"http_post_jobs_p99_ms","value":40,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"http_bare_req_per_s","value":10000,"run":"1"}`,
  `{"peer":"jobq","config":"default","metric":"http_bare_req_per_s","value":14000,"run":"2"}`,
  `{"peer":"jobq","config":"default","metric":"worker_real_peak_rss_mb","value":190.5,"completed":100000,"rss_at_25_mb":170,"rss_at_50_mb":180,"rss_at_75_mb":185,"rss_at_100_mb":188,"flat":true,"timed_out":false,"run":"once"}`,
  // graphile-worker tuned, with the CPU fields of bench/peer_cpu.mjs
  `{"peer":"graphile-worker","config":"tuned","metric":"enqueue_batch_jobs_per_s","value":30000,"run":"1"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"enqueue_batch_jobs_per_s","value":32000,"run":"2"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"drain_jobs_per_s","value":20000,"completed":20000,"worker_cpu_s":0.9,"postgres_cpu_s":0.7,"run":"1"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"drain_jobs_per_s","value":24000,"completed":20000,"worker_cpu_s":0.8,"postgres_cpu_s":0.8,"run":"2"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"pickup_latency_p50_ms","value":4,"run":"1"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"pickup_latency_p50_ms","value":4,"run":"2"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"pickup_latency_p99_ms","value":10,"run":"1"}`,
  `{"peer":"graphile-worker","config":"tuned","metric":"pickup_latency_p99_ms","value":12,"run":"2"}`,
  // the ceiling (bench/ceiling.mjs)
  `{"peer":"ceiling","config":"A2 C2 B256","metric":"drain_jobs_per_s","value":50000,"completed":20000,"worker_cpu_s":0.1,"postgres_cpu_s":0.6,"run":"1"}`,
  `{"peer":"ceiling","config":"A2 C2 B256","metric":"drain_jobs_per_s","value":48000,"completed":20000,"worker_cpu_s":0.1,"postgres_cpu_s":0.6,"run":"2"}`,
].join("\n");

Deno.test("bench: the Goals table pairs rounds for ratios and says what is met", () => {
  const lines = parseLines(RECORDED);
  const all = goals(lines);
  const find = (start: string) => all.find((g) => g.goal.startsWith(start))!;

  const drain = find("drain, no-op");
  assertEquals(drain.measured, "5,500 (5,000–6,000) vs 22,000 (20,000–24,000) jobs/s");
  assertEquals(drain.ratio, "0.25× (0.25–0.25)"); // 5,000 / 20,000 and 6,000 / 24,000
  assertEquals(drain.met, false);

  const p50 = find("pickup latency p50");
  assertEquals(p50.ratio, "1.13× (1.00–1.25)");
  assertEquals(p50.met, false);

  const batch = find("batch enqueue");
  assertEquals(batch.ratio, "0.48× (0.47–0.50)");

  const http = find("POST /api/jobs, 32 connections");
  assertEquals(http.measured, "2,900 (2,800–3,000) vs 12,000 (10,000–14,000) req/s");
  assertEquals(http.ratio, "0.25× (0.20–0.30)");
  assertEquals(http.met, true); // median of 0.30 and 0.20

  assertEquals(find("POST /api/jobs p99").met, false);
  const errors = find("POST /api/jobs: no errors");
  assertEquals(errors.measured, "2 non-2xx, 0 errors in 58,000 requests (2 runs)");
  assertEquals(errors.met, false);

  const scale = find("claim, list");
  assertEquals(scale.met, null);
  assertEquals(scale.missing, "run with BENCH_SCALE=1");

  const memory = find("worker RSS");
  assertEquals(memory.met, true);
  assertEquals(
    memory.measured,
    "peak 190.5 MB over 100,000 jobs; RSS at 25/50/75/100%: 170.0 / 180.0 / 185.0 / 188.0 MB (flat)",
  );

  const cpu = find("CPU per drained job");
  assertEquals(cpu.measured, "0.380 (0.360–0.400) vs 0.080 (0.080–0.080) ms/job");
  assertEquals(cpu.met, false);

  const ceiling = find("drain ≥ 0.9×");
  assertEquals(ceiling.ratio, "0.11× (0.10–0.13)");
  assertEquals(ceiling.met, false);
  assertEquals(all.length, 11); // every row of the goal table, the HTTP one in three
});

Deno.test("bench: the drain of 4 Web Workers × 4 jobs gets its rows when it ran", () => {
  const fours = [
    `{"peer":"jobq","config":"4x4","metric":"drain_jobs_per_s","value":8000,"completed":20000,"worker_cpu_s":2.0,"postgres_cpu_s":2.0,"run":"1"}`,
    `{"peer":"jobq","config":"4x4","metric":"drain_jobs_per_s","value":6000,"completed":20000,"worker_cpu_s":2.4,"postgres_cpu_s":2.4,"run":"2"}`,
  ];
  const all = goals(parseLines([RECORDED, ...fours].join("\n")));
  const drain = all.find((g) => g.goal.startsWith("the same drain as 4 Web Workers"))!;
  assertEquals(drain.measured, "7,000 (6,000–8,000) vs 22,000 (20,000–24,000) jobs/s");
  assertEquals(drain.ratio, "0.33× (0.25–0.40)"); // 8,000 / 20,000 and 6,000 / 24,000
  assertEquals(drain.met, false);
  const cpu = all.find((g) => g.goal.startsWith("the same, as 4 Web Workers"))!;
  assertEquals(cpu.measured, "0.220 (0.200–0.240) vs 0.080 (0.080–0.080) ms/job");
  assertEquals(all.length, 13);
});

Deno.test("bench: scale ratios and the summary's Goals table in Markdown", () => {
  const scale = [
    `{"peer":"jobq","config":"default","metric":"scale_claim_ratio","value":0.99,"rows":1000000,"base_rows":10000,"p50_ms":2.37,"base_p50_ms":2.39,"run":"once"}`,
    `{"peer":"jobq","config":"default","metric":"scale_trend_24h_ratio","value":1.62,"rows":1000000,"base_rows":10000,"p50_ms":1.62,"base_p50_ms":1,"run":"once"}`,
    `{"peer":"jobq","config":"default","metric":"scale_claim_ms","value":2.37,"run":"once"}`,
  ];
  const lines = parseLines([RECORDED, ...scale].join("\n"));
  const g = goals(lines).find((x) => x.goal.startsWith("claim, list"))!;
  assertEquals(g.met, false);
  assertEquals(
    g.measured,
    "2 queries and pages at 1,000,000 vs 10,000 rows; worst: trend_24h, 1.62 vs 1 ms; 1 over 1.5×",
  );
  assertEquals(g.ratio, "1.62× (worst)");

  const md = summarize(lines);
  assert(
    md.includes(
      "| drain ≥ 0.9× the database's ceiling for the same storage (A2, C=2, B=256) | " +
        "5,500 (5,000–6,000) vs 49,000 (48,000–50,000) jobs/s | 0.11× (0.10–0.13) | **NOT met** |",
    ),
    md,
  );
  assert(md.includes("| worker RSS, 4 Web Workers, 100k jobs, real handlers < 200 MB, flat |"), md);
  assert(md.includes("| jobq default | 0.210 (0.200–0.220) | 0.170 (0.160–0.180) | 0.380"), md);
  assert(md.includes("| bare Deno.serve, 201 | 12,000 (10,000–14,000) |"), md);
  // The ceiling is no peer of ours in the ratio tables.
  assert(!md.includes("÷ ceiling"), md);
  assertEquals(cpuMsPerJob(lines.find((l) => l.peer === "ceiling")!), 0.035);
});
