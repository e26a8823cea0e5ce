/**
 * Command-line parsing for the operations scripts (`deno task seed`,
 * `deno task prune`): flags, whole numbers and durations. Every error is a
 * {@link UsageError} whose message names the flag and shows a valid example.
 */

/** A bad command line: `message` says which flag and what was expected. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Flags a script accepts: name → whether it takes a value. */
export type FlagSpec = Record<string, "value" | "switch">;

/**
 * Parses `--name value`, `--name=value` and `--switch` flags. Unknown flags,
 * missing values and positional arguments are {@link UsageError}s. A switch
 * maps to `"true"`.
 */
export function parseFlags(args: string[], spec: FlagSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const [, name, inline] = m;
    const kind = spec[name];
    if (!kind) {
      const known = Object.keys(spec).map((n) => "--" + n).join(", ");
      throw new UsageError(`unknown flag --${name} (known: ${known})`);
    }
    if (kind === "switch") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      out[name] = "true";
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || (inline === undefined && value.startsWith("--"))) {
      throw new UsageError(`--${name} needs a value`);
    }
    out[name] = value;
  }
  return out;
}

/** A whole number from `min` to `max`, written with digits (`_` allowed: 1_000_000). */
export function parseCount(flag: string, text: string, min: number, max: number): number {
  if (!/^\d[\d_]*$/.test(text)) {
    throw new UsageError(
      `--${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  }
  const n = Number(text.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag}: expected a whole number from ${min} to ${max}, got ${text}`);
  }
  return n;
}

/** A positive number of days, fractions allowed (`7`, `0.5`), at most `max`. */
export function parseDays(flag: string, text: string, max: number): number {
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0 && n <= max)) {
    throw new UsageError(
      `--${flag}: expected a number of days above 0 and at most ${max} (e.g. 7 or 0.5), got ${
        JSON.stringify(text)
      }`,
    );
  }
  return n;
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/**
 * A duration written as a whole number and a unit: `30d` (days), `12h`
 * (hours) or `90m` (minutes). Returns milliseconds; zero, other units and
 * anything above 100 years are {@link UsageError}s.
 */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+)([dhm])$/.exec(text.trim());
  if (!m) {
    throw new UsageError(
      `--${flag}: expected a whole number followed by d, h or m (e.g. 30d, 12h, 90m), got ${
        JSON.stringify(text)
      }`,
    );
  }
  const ms = Number(m[1]) * UNIT_MS[m[2]];
  if (ms <= 0) throw new UsageError(`--${flag}: must be longer than zero, got ${text}`);
  if (ms > 100 * 365 * UNIT_MS.d) {
    throw new UsageError(`--${flag}: must be at most 100 years, got ${text}`);
  }
  return ms;
}

/** Milliseconds as the shortest exact `Nd`, `Nh` or `Nm` (for messages). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m"]) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
