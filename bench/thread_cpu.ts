/**
 * CPU time of a worker process's threads by group, from /proc (Linux): what
 * bench/drain_split.ts and bench/drain_shapes.ts split a drain's worker CPU by.
 */

import { threadCpuSeconds } from "./proc_cpu.mjs";

/** CPU seconds of each thread of process `pid`, keyed by `<tid> <thread name>`. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const st = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`);
      const s = threadCpuSeconds(pid, e.name);
      if (s !== null) out.set(`${e.name} ${st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"))}`, s);
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The group of a thread name: the runners (Web Workers), V8's own threads, the main thread, other. */
function group(name: string): string {
  if (name.startsWith("worker-")) return "runners";
  if (name.startsWith("V8 ")) return "v8";
  return name === "deno" ? "main" : "other";
}

/**
 * CPU seconds each thread group of process `pid` spent since `before` (a
 * {@link threadCpu} reading), rounded to hundredths; groups that spent none
 * are left out.
 */
export function cpuByGroupSince(pid: number, before: Map<string, number>): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const [name, s] of threadCpu(pid)) {
    const d = s - (before.get(name) ?? 0);
    const g = group(name.slice(name.indexOf(" ") + 1));
    if (d > 0) parts[g] = Math.round(((parts[g] ?? 0) + d) * 100) / 100;
  }
  return parts;
}
