/**
 * Processes of the multihost test run inside a host's namespace
 * (`ip netns exec <ns> deno run …`, which execs, so the pid is Deno's). Their
 * stderr — the JSON log lines of lib/log.ts — is kept in memory.
 */
import type { Host } from "./net.ts";

/** A process running on a host. */
export interface HostProcess {
  host: Host;
  pid: number;
  /** Its stderr so far, one entry per line. */
  lines: string[];
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Idempotent. */
  stop(graceMs?: number): Promise<number>;
  /** CPU time (user + system) used so far, in ms (from /proc; 0 once exited). */
  cpuMs(): number;
}

const TICKS_PER_S = 100; // USER_HZ on Linux

async function pump(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let rest = "";
  const decoder = new TextDecoder();
  for await (const bytes of stream) {
    const parts = (rest + decoder.decode(bytes, { stream: true })).split("\n");
    rest = parts.pop() ?? "";
    lines.push(...parts);
  }
  if (rest) lines.push(rest);
}

/** Starts `deno run -A <args>` in `host`'s namespace, in `cwd`, with `env` added. */
export function spawnOnHost(
  host: Host,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): HostProcess {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", host.ns, Deno.execPath(), "run", "-A", ...args],
    cwd,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const pumped = pump(child.stderr, lines).catch(() => {});
  const exited = child.status.then(async (s) => {
    await pumped;
    return s.code;
  });
  let stopping: Promise<number> | null = null;
  return {
    host,
    pid: child.pid,
    lines,
    exited,
    stop(graceMs = 10_000) {
      return stopping ??= terminate(child, graceMs).then(() => exited);
    },
    cpuMs: () => cpuMsOf(child.pid),
  };
}

/** SIGTERM, then SIGKILL if `child` has not exited within `graceMs`; resolves once it has. */
export async function terminate(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* exited */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}

/** CPU time (user + system) process `pid` has used, in ms (from /proc; 0 when it is gone). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the ")" of the command name: utime is the 12th, stime the 13th.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Parsed JSON log lines of `p` whose `msg` is `msg`. */
export function logged(p: HostProcess, msg: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of p.lines) {
    if (!line.includes(`"${msg}"`)) continue;
    try {
      const o = JSON.parse(line);
      if (o.msg === msg) out.push(o);
    } catch { /* not a log line */ }
  }
  return out;
}
