/**
 * The hot-path goals of bench/compare.sh's summary: one Markdown table with
 * each goal, what was measured (median and min–max over rounds), the ratio
 * (the median of the per-round ratios, rounds paired by their `run` label, and
 * their min–max) and whether the goal is met; plus the CPU-per-job and HTTP
 * tables it draws on. "Ours" is `jobq default`, the worker as `deno task
 * worker` runs it; the drain and its CPU are also given for `jobq 4x4`, the
 * same 16 jobs at once as 4 Web Workers of 4.
 */
import { median } from "./util.ts";
import { fmt, type Key, keyOf, type Line } from "./compare_lines.ts";

const OURS = "jobq default";
/** The same 16 jobs at once as 4 Web Workers of 4 (WORKER_JOBS_PER_RUNNER=4): reported beside. */
const FOURS = "jobq 4x4";
const GW = "graphile-worker tuned";
const CEILING = "ceiling A2 C2 B256";

/** Per-run values of one peer/config: `pick` reads a number from a line of `metric`. */
export function perRun(
  lines: Line[],
  key: Key,
  metric: string,
  pick: (l: Line) => number | null = (l) => l.value,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    if (keyOf(l.peer, l.config) !== key || l.metric !== metric) continue;
    const v = pick(l);
    if (typeof v === "number" && Number.isFinite(v)) out.set(String(l.run ?? ""), v);
  }
  return out;
}

/** CPU milliseconds per drained job (worker or client process + PostgreSQL backends). */
export function cpuMsPerJob(l: Line, part: "worker" | "postgres" | "total" = "total") {
  const w = typeof l.worker_cpu_s === "number" ? l.worker_cpu_s : null;
  const p = typeof l.postgres_cpu_s === "number" ? l.postgres_cpu_s : null;
  const n = typeof l.completed === "number" ? l.completed : null;
  if (!n) return null;
  const s = part === "worker"
    ? w
    : part === "postgres"
    ? p
    : w === null || p === null
    ? null
    : w + p;
  return s === null ? null : (s * 1000) / n;
}

/** Median (min–max) of some values, with `f` as the number format. */
export function spread(xs: number[], f: (x: number | null) => string = fmt): string {
  if (xs.length === 0) return "–";
  const range = xs.length > 1 ? ` (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : "";
  return `${f(median(xs))}${range}`;
}

/** Ours ÷ theirs round by round (runs both measured). */
export function pairedRatios(a: Map<string, number>, b: Map<string, number>): number[] {
  const out: number[] = [];
  for (const [run, x] of a) {
    const y = b.get(run);
    if (y !== undefined && y > 0) out.push(x / y);
  }
  return out;
}

const ms3 = (x: number | null) => (x === null ? "–" : x.toFixed(3));
const ms1 = (x: number | null) => (x === null ? "–" : x.toFixed(1));
const times = (x: number | null) => (x === null ? "–" : `${x.toFixed(2)}×`);
const ratioSpread = (xs: number[]) =>
  xs.length > 1
    ? `${times(median(xs))} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`
    : spread(xs, times);

interface Goal {
  goal: string;
  measured: string;
  ratio: string;
  met: boolean | null;
  /** Why it is not measured, when it is not. */
  missing?: string;
}

/** A goal on the ratio of ours to theirs, round by round. */
function ratioGoal(o: {
  goal: string;
  ours: Map<string, number>;
  theirs: Map<string, number>;
  unit: string;
  format?: (x: number | null) => string;
  test: (ratio: number) => boolean;
  theirName: string;
}): Goal {
  const f = o.format ?? fmt;
  const rs = pairedRatios(o.ours, o.theirs);
  const r = median(rs);
  if (o.ours.size === 0 || o.theirs.size === 0 || r === null) {
    return {
      goal: o.goal,
      measured: "–",
      ratio: "–",
      met: null,
      missing: o.ours.size === 0 ? "no line of ours" : `no line of ${o.theirName}`,
    };
  }
  return {
    goal: o.goal,
    measured: `${spread([...o.ours.values()], f)} vs ${
      spread([...o.theirs.values()], f)
    } ${o.unit}`,
    ratio: ratioSpread(rs),
    met: o.test(r),
  };
}

/** The Goals table's rows, from the JSON lines of one compare run. */
export function goals(lines: Line[]): Goal[] {
  const out: Goal[] = [];
  const fours = perRun(lines, FOURS, "drain_jobs_per_s").size > 0;
  out.push(ratioGoal({
    goal: "drain, no-op handler, 16 runners, full timeline kept ≥ 1.2× graphile-worker tuned",
    ours: perRun(lines, OURS, "drain_jobs_per_s"),
    theirs: perRun(lines, GW, "drain_jobs_per_s"),
    unit: "jobs/s",
    test: (r) => r >= 1.2,
    theirName: GW,
  }));
  if (fours) {
    out.push(ratioGoal({
      goal: "the same drain as 4 Web Workers × 4 jobs (`WORKER_JOBS_PER_RUNNER=4`) ≥ 1.2×",
      ours: perRun(lines, FOURS, "drain_jobs_per_s"),
      theirs: perRun(lines, GW, "drain_jobs_per_s"),
      unit: "jobs/s",
      test: (r) => r >= 1.2,
      theirName: GW,
    }));
  }
  for (const p of ["50", "99"]) {
    out.push(ratioGoal({
      goal: `pickup latency p${p} ≤ 0.5× graphile-worker tuned`,
      ours: perRun(lines, OURS, `pickup_latency_p${p}_ms`),
      theirs: perRun(lines, GW, `pickup_latency_p${p}_ms`),
      unit: "ms",
      format: ms1,
      test: (r) => r <= 0.5,
      theirName: GW,
    }));
  }
  out.push(ratioGoal({
    goal: "batch enqueue (1,000 per call) ≥ 1.5× graphile-worker addJobs",
    ours: perRun(lines, OURS, "enqueue_batch_jobs_per_s"),
    theirs: perRun(lines, GW, "enqueue_batch_jobs_per_s"),
    unit: "jobs/s",
    test: (r) => r >= 1.5,
    theirName: GW,
  }));
  out.push(...httpGoals(lines));
  out.push(scaleGoal(lines));
  out.push(memoryGoal(lines));
  out.push(ratioGoal({
    goal: "CPU per drained job, worker + PostgreSQL ≤ 1.2× graphile-worker tuned",
    ours: perRun(lines, OURS, "drain_jobs_per_s", (l) => cpuMsPerJob(l)),
    theirs: perRun(lines, GW, "drain_jobs_per_s", (l) => cpuMsPerJob(l)),
    unit: "ms/job",
    format: ms3,
    test: (r) => r <= 1.2,
    theirName: GW,
  }));
  if (fours) {
    out.push(ratioGoal({
      goal: "the same, as 4 Web Workers × 4 jobs ≤ 1.2×",
      ours: perRun(lines, FOURS, "drain_jobs_per_s", (l) => cpuMsPerJob(l)),
      theirs: perRun(lines, GW, "drain_jobs_per_s", (l) => cpuMsPerJob(l)),
      unit: "ms/job",
      format: ms3,
      test: (r) => r <= 1.2,
      theirName: GW,
    }));
  }
  out.push(ratioGoal({
    goal: "drain ≥ 0.9× the database's ceiling for the same storage (A2, C=2, B=256)",
    ours: perRun(lines, OURS, "drain_jobs_per_s"),
    theirs: perRun(lines, CEILING, "drain_jobs_per_s"),
    unit: "jobs/s",
    test: (r) => r >= 0.9,
    theirName: "the ceiling",
  }));
  return out;
}

function httpGoals(lines: Line[]): Goal[] {
  const web = perRun(lines, OURS, "http_post_jobs_req_per_s");
  const bare = perRun(lines, OURS, "http_bare_req_per_s");
  const out: Goal[] = [ratioGoal({
    goal: "POST /api/jobs, 32 connections ≥ 0.25× a bare Deno.serve answering 201",
    ours: web,
    theirs: bare,
    unit: "req/s",
    test: (r) => r >= 0.25,
    theirName: "the bare server",
  })];
  const p99 = [...perRun(lines, OURS, "http_post_jobs_p99_ms").values()];
  const m = median(p99);
  out.push({
    goal: "POST /api/jobs p99 ≤ 20 ms",
    measured: p99.length ? `${spread(p99, ms1)} ms` : "–",
    ratio: "",
    met: m === null ? null : m <= 20,
    missing: "no HTTP lines",
  });
  const runs = lines.filter((l) =>
    keyOf(l.peer, l.config) === OURS && l.metric === "http_post_jobs_req_per_s"
  );
  const bad = (l: Line) => Number(l.non_2xx ?? 0) + Number(l.errors ?? 0);
  const requests = runs.reduce((a, l) => a + Number(l.requests ?? 0), 0);
  const non2xx = runs.reduce((a, l) => a + Number(l.non_2xx ?? 0), 0);
  const errors = runs.reduce((a, l) => a + Number(l.errors ?? 0), 0);
  out.push({
    goal: "POST /api/jobs: no errors",
    measured: runs.length
      ? `${non2xx} non-2xx, ${errors} errors in ${fmt(requests)} requests (${runs.length} runs)`
      : "–",
    ratio: "",
    met: runs.length ? runs.every((l) => bad(l) === 0) : null,
    missing: "no HTTP lines",
  });
  return out;
}

function scaleGoal(lines: Line[]): Goal {
  const goal = "claim, list, filter, search, stats, every dashboard page: 1M jobs ≤ 1.5× 10k";
  const rs = lines.filter((l) =>
    keyOf(l.peer, l.config) === OURS && /^scale_.+_ratio$/.test(l.metric) &&
    typeof l.value === "number"
  );
  if (rs.length === 0) {
    return { goal, measured: "–", ratio: "–", met: null, missing: "run with BENCH_SCALE=1" };
  }
  const worst = rs.reduce((a, b) => ((b.value as number) > (a.value as number) ? b : a));
  const name = worst.metric.replace(/^scale_/, "").replace(/_ratio$/, "");
  const over = rs.filter((l) => (l.value as number) > 1.5).length;
  return {
    goal,
    measured: `${rs.length} queries and pages at ${fmt(Number(worst.rows))} vs ${
      fmt(Number(worst.base_rows))
    } rows; worst: ${name}, ${worst.p50_ms} vs ${worst.base_p50_ms} ms; ${over} over 1.5×`,
    ratio: `${times(worst.value)} (worst)`,
    met: over === 0,
  };
}

function memoryGoal(lines: Line[]): Goal {
  const goal = "worker RSS, 4 Web Workers, 100k jobs, real handlers < 200 MB, flat";
  const ms = lines.filter((l) =>
    keyOf(l.peer, l.config) === OURS && l.metric === "worker_real_peak_rss_mb" &&
    typeof l.value === "number"
  );
  if (ms.length === 0) {
    return {
      goal,
      measured: "–",
      ratio: "–",
      met: null,
      missing: "MEMORY_JOBS=0, or the phase failed",
    };
  }
  const peaks = ms.map((l) => l.value as number);
  const last = ms[ms.length - 1];
  const samples = [25, 50, 75, 100].map((p) => ms1(last[`rss_at_${p}_mb`] as number ?? null));
  return {
    goal,
    measured: `peak ${spread(peaks, ms1)} MB over ${fmt(Number(last.completed))} jobs; ` +
      `RSS at 25/50/75/100%: ${samples.join(" / ")} MB (${last.flat ? "flat" : "not flat"})` +
      (last.timed_out ? "; timed out" : ""),
    ratio: "",
    met: ms.every((l) => (l.value as number) < 200 && l.flat === true && !l.timed_out),
  };
}

/** The Goals table, as Markdown lines. */
export function goalsTable(lines: Line[]): string[] {
  const out = [
    "### Goals",
    "",
    "| goal | measured: median (min–max) over rounds | ratio: median (min–max) of the rounds | status |",
    "| --- | --- | --- | --- |",
  ];
  for (const g of goals(lines)) {
    const status = g.met === null
      ? `not measured${g.missing ? ` (${g.missing})` : ""}`
      : g.met
      ? "met"
      : "**NOT met**";
    out.push(`| ${g.goal} | ${g.measured} | ${g.ratio} | ${status} |`);
  }
  out.push("");
  out.push(
    `Ours is ${OURS}. Ratios pair the rounds (ours ÷ theirs in the same round); latency and CPU: ` +
      "lower is better.",
  );
  out.push("");
  return out;
}

/** CPU per drained job of every peer/config whose drain lines carry CPU. */
export function cpuTable(lines: Line[], keys: Key[]): string[] {
  const rows = keys.filter((k) =>
    perRun(lines, k, "drain_jobs_per_s", (l) => cpuMsPerJob(l)).size > 0
  );
  if (rows.length === 0) return [];
  const out = [
    "| peer config | CPU ms/drained job: worker or client | PostgreSQL backends | total |",
    "| --- | --- | --- | --- |",
  ];
  for (const k of rows) {
    const cells = (["worker", "postgres", "total"] as const).map((part) =>
      spread([...perRun(lines, k, "drain_jobs_per_s", (l) => cpuMsPerJob(l, part)).values()], ms3)
    );
    out.push(`| ${k} | ${cells.join(" | ")} |`);
  }
  out.push("");
  return out;
}

/** The HTTP phase: the web process and the bare server, side by side. */
export function httpTable(lines: Line[]): string[] {
  const targets: [string, string][] = [
    ["http_post_jobs", "POST /api/jobs, web process"],
    ["http_bare", "bare Deno.serve, 201"],
  ];
  if (perRun(lines, OURS, "http_post_jobs_req_per_s").size === 0) return [];
  const out = [
    "| target (32 connections) | req/s | p50 (ms) | p99 (ms) | non-2xx | errors |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [m, title] of targets) {
    const rs = lines.filter((l) =>
      keyOf(l.peer, l.config) === OURS && l.metric === `${m}_req_per_s`
    );
    const sum = (f: string) => rs.reduce((a, l) => a + Number(l[f] ?? 0), 0);
    out.push(
      `| ${title} | ${spread([...perRun(lines, OURS, `${m}_req_per_s`).values()])} | ${
        spread([...perRun(lines, OURS, `${m}_p50_ms`).values()], ms1)
      } | ${spread([...perRun(lines, OURS, `${m}_p99_ms`).values()], ms1)} | ${sum("non_2xx")} | ${
        sum("errors")
      } |`,
    );
  }
  out.push("");
  out.push("autocannon's latencies are whole milliseconds.");
  out.push("");
  return out;
}
