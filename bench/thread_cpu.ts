/**
 * CPU time of a worker process's threads by group, from /proc (Linux): what
 * bench/drain_split.ts and bench/drain_shapes.ts split a drain's worker CPU by.
 */

/** CPU seconds of each thread of process `pid`, keyed by `<tid> <thread name>`. */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const st = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`);
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      out.set(
        `${e.name} ${st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"))}`,
        (Number(f[11]) + Number(f[12])) / 100,
      );
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The group of a thread name: the runners (Web Workers), V8's own threads, the main thread, other. */
export function group(name: string): string {
  if (name.startsWith("worker-")) return "runners";
  if (name.startsWith("V8 ")) return "v8";
  return name === "deno" ? "main" : "other";
}
