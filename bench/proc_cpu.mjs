// CPU time of a process from /proc (Linux), shared by the Deno benchmarks
// (bench/util.ts, bench/thread_cpu.ts) and the peers' hook (bench/peer_cpu.mjs,
// run by Node). The kernel keeps two counts: user + system time in clock ticks
// (/proc/<pid>/stat: 10 ms each, sampled) and, per thread, the nanoseconds it
// ran (/proc/<pid>/task/<tid>/schedstat). A drain of a few hundred
// milliseconds read in ticks is off by up to 10 ms per process: across a
// peer's dozen PostgreSQL backends that is a third of what they used. So a
// live thread is read in nanoseconds, and what threads that already ended
// used (counted only in the process's ticks) is added from the ticks.
import fs from "node:fs";

/** CPU seconds a process's threads used in all, in ticks, from /proc/<pid>/stat; null when gone. */
function tickSeconds(path) {
  try {
    const stat = fs.readFileSync(path, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}

/** Seconds one thread ran, from its schedstat (nanoseconds); null when gone or not kept. */
function threadRunSeconds(pid, tid) {
  try {
    const ns = Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return Number.isFinite(ns) ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds of one thread (`tid`) of process `pid`: its run time in
 * nanoseconds where the kernel keeps it, else its ticks; null when it ended.
 */
export function threadCpuSeconds(pid, tid) {
  return threadRunSeconds(pid, tid) ?? tickSeconds(`/proc/${pid}/task/${tid}/stat`);
}

/**
 * CPU seconds (user + system) of process `pid`: its live threads' run times
 * in nanoseconds, plus the ticks of threads that ended; null when it is gone.
 */
export function processCpuSeconds(pid) {
  const total = tickSeconds(`/proc/${pid}/stat`);
  if (total === null) return null;
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return total;
  }
  let precise = 0;
  let liveTicks = 0;
  for (const tid of tids) {
    const run = threadRunSeconds(pid, tid);
    const ticks = tickSeconds(`/proc/${pid}/task/${tid}/stat`);
    if (run === null || ticks === null) return total; // not kept, or a thread ended meanwhile
    precise += run;
    liveTicks += ticks;
  }
  return precise + Math.max(0, total - liveTicks);
}
