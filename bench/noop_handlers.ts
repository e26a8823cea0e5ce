/**
 * The benchmark's handlers module: a no-op `notification` handler that tells
 * the bench process when it started, so pickup latency is measured at handler
 * start on one clock (the machine's wall clock at sub-millisecond resolution,
 * `performance.timeOrigin + performance.now()`, the same in every process and
 * Web Worker here).
 *
 * Reports go over TCP to `127.0.0.1:$JOBQ_BENCH_REPORT_PORT` as lines
 * `<i> <start ms>\n`, one connection per Web Worker. With
 * `JOBQ_BENCH_REPORT=batched` (drain) lines are buffered and sent every
 * 50 ms, so reporting costs little per job; otherwise each is sent at once.
 * Without a port the handler does nothing at all. `JOBQ_BENCH_HANDLER_MS`
 * makes each job wait that long after reporting (an I/O-bound handler: mail,
 * webhooks), to compare runner shapes on work that waits.
 */
import type { HandlerMap } from "../worker/types.ts";
import { payloadIndex } from "./payload.ts";

const port = Number(Deno.env.get("JOBQ_BENCH_REPORT_PORT") ?? "0");
const batched = Deno.env.get("JOBQ_BENCH_REPORT") === "batched";
const waitMs = Number(Deno.env.get("JOBQ_BENCH_HANDLER_MS") ?? "0");
const encoder = new TextEncoder();

let conn: Promise<Deno.Conn> | null = null;
let buffer = "";
let timer: ReturnType<typeof setTimeout> | null = null;
let writing: Promise<void> = Promise.resolve();

function send(text: string): void {
  conn ??= Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = encoder.encode(text);
  // Writes are chained so lines never interleave.
  writing = writing.then(async () => {
    const c = await conn!;
    let off = 0;
    while (off < bytes.length) off += await c.write(bytes.subarray(off));
  }).catch((err) => console.error("bench handler: report failed", err));
}

function report(i: number, at: number): void {
  const line = `${i} ${at}\n`;
  if (!batched) return send(line);
  buffer += line;
  timer ??= setTimeout(() => {
    timer = null;
    const text = buffer;
    buffer = "";
    send(text);
  }, 50);
}

/** `notification` jobs do nothing but report their start. */
export const handlers: HandlerMap = {
  notification: {
    timeoutSeconds: 30,
    run(payload: unknown): Promise<unknown> {
      if (port) {
        const at = performance.timeOrigin + performance.now();
        const i = payloadIndex(payload);
        if (i !== null) report(i, at);
      }
      if (waitMs > 0) return new Promise((r) => setTimeout(() => r(null), waitMs));
      return Promise.resolve(null);
    },
  },
};
