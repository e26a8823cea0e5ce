/**
 * Retry delay: exponential in the attempt number, capped, with "equal jitter"
 * (half fixed, half random) so retries of many jobs spread out while the
 * delay still grows attempt after attempt.
 */
export function backoffMs(opts: {
  attempt: number;
  baseMs: number;
  maxMs: number;
  random?: () => number;
}): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, opts.attempt - 1));
  const r = (opts.random ?? Math.random)();
  return Math.round(exp / 2 + (exp / 2) * r);
}

/** Largest error text kept per attempt (bytes of UTF-16 code units, roughly). */
export const MAX_ERROR_CHARS = 4096;

/**
 * Turns anything thrown into a bounded, printable string: the message (and
 * the first stack lines of an Error), NUL bytes removed, truncated.
 */
export function errorText(err: unknown): string {
  let text: string;
  if (err instanceof Error) {
    text = err.stack && err.stack.includes(err.message) ? err.stack : `${err.name}: ${err.message}`;
  } else if (typeof err === "string") {
    text = err;
  } else {
    try {
      text = JSON.stringify(err) ?? String(err);
    } catch {
      text = String(err);
    }
  }
  // deno-lint-ignore no-control-regex
  text = text.replace(/\u0000/g, "").replace(/[\uD800-\uDFFF]/g, (c, i, s) => {
    // keep valid surrogate pairs, drop lone halves (Postgres cannot store them)
    const code = c.charCodeAt(0);
    if (code < 0xdc00) return i + 1 < s.length && /[\uDC00-\uDFFF]/.test(s[i + 1]) ? c : "\uFFFD";
    return i > 0 && /[\uD800-\uDBFF]/.test(s[i - 1]) ? c : "\uFFFD";
  });
  return text.length > MAX_ERROR_CHARS
    ? text.slice(0, MAX_ERROR_CHARS - 14) + "… (truncated)"
    : text;
}
