/**
 * What a benchmark job carries, in a module free of imports: the no-op
 * handlers module (loaded by every Web Worker of the measured process) reads
 * it without loading the producer side and the whole queue core.
 */

/** The job type every benchmark job uses (a real type, so the worker accepts it). */
export const BENCH_TYPE = "notification";

/**
 * The payload of job `i`: valid for {@link BENCH_TYPE}'s strict schema, and
 * carrying `i` in `message` (see {@link payloadIndex}).
 */
export function benchPayload(i: number): Record<string, unknown> {
  return { user_id: "bench", channel: "push", message: String(i) };
}

/** The `i` a benchmark payload carries, or `null` for any other payload. */
export function payloadIndex(payload: unknown): number | null {
  const m = (payload as { message?: unknown } | null)?.message;
  const i = typeof m === "string" ? Number(m) : NaN;
  return Number.isInteger(i) ? i : null;
}
