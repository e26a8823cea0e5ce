/** Small assertion helpers on node:assert (JSR's @std/assert is not reachable here). */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}
/** Array subclasses (postgres.js results) become plain arrays, recursively. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return Array.from(v, plain);
  if (v && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(plain(actual), plain(expected), msg);
}
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}
export function assertStringIncludes(actual: string, part: string, msg?: string): void {
  if (!actual.includes(part)) {
    nodeAssert.fail(
      msg ?? `expected ${JSON.stringify(actual.slice(0, 2000))} to include ${JSON.stringify(part)}`,
    );
  }
}
/** Awaits `fn` and expects it to reject; returns the error (optionally checks its class and message). */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls?: new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (cls && !(err instanceof cls)) nodeAssert.fail(`expected ${cls.name}, got ${err}`);
    if (includes && !String((err as Error)?.message).includes(includes)) {
      nodeAssert.fail(
        `expected error message to include ${JSON.stringify(includes)}, got ${
          (err as Error)?.message
        }`,
      );
    }
    return err as E;
  }
  nodeAssert.fail("expected a rejection");
}
