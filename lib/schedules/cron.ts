/**
 * Cron expressions of schedules, read with croner. Browser-safe.
 *
 * Accepted: five fields (minute hour day-of-month month day-of-week, with
 * croner's `*`, lists, ranges, steps, names, `L`, `W`, `#`) or one of
 * {@link CRON_NICKNAMES}. Six- or seven-field patterns (seconds, years) are
 * refused: a tick finer than a minute is not what a job queue's schedule is
 * for, and the page shows minutes.
 *
 * Time zones and daylight saving time (croner's behaviour, pinned by
 * tests/scheduler_test.ts): a local time that does not exist on the
 * spring-forward day (02:30 in Europe/Berlin on the last Sunday of March)
 * fires once, an hour later (03:30 local time, the same instant as 01:30 UTC);
 * a local time that happens twice on the fall-back day fires once, at its
 * first occurrence (summer time).
 */
import { Cron } from "croner";

/** The `@` names accepted besides five fields. */
export const CRON_NICKNAMES = [
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
] as const;

/** Why `tz` is not an IANA time zone this runtime knows, or null when it is. */
export function timezoneError(tz: string): string | null {
  if (tz.length === 0 || tz.length > 64) return "timezone must be an IANA time zone name";
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz }).format(0);
    return null;
  } catch {
    return `timezone ${JSON.stringify(tz)} is not a known IANA time zone (e.g. UTC, Europe/Berlin)`;
  }
}

/** The canonical spelling of a known time zone (`utc` → `UTC`); `tz` itself when unknown. */
export function canonicalTimezone(tz: string): string {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return tz;
  }
}

/** A paused croner job for `cron` in `tz` (throws croner's error). */
function cronOf(cron: string, tz: string): Cron {
  return new Cron(cron, { timezone: tz, paused: true });
}

/** Why `cron` is not an accepted expression, or null when it is. */
export function cronError(cron: string): string | null {
  const c = cron.trim();
  if (c.startsWith("@")) {
    return (CRON_NICKNAMES as readonly string[]).includes(c.toLowerCase())
      ? null
      : `cron must be five fields or one of ${CRON_NICKNAMES.join(", ")}`;
  }
  const fields = c.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    return `cron must have 5 fields (minute hour day-of-month month day-of-week), not ${fields.length}`;
  }
  try {
    const job = cronOf(c, "UTC");
    if (!job.nextRun(new Date(0))) return "cron matches no time";
    return null;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return `cron is not valid: ${msg.replace(/^CronPattern:\s*/, "")}`;
  }
}

/**
 * The first tick of `cron` in `tz` strictly after `after`, or null when there
 * is none. Never returns an instant at or before `after`.
 */
export function nextTick(cron: string, tz: string, after: Date): Date | null {
  const job = cronOf(cron.trim(), tz);
  let from = after;
  for (let i = 0; i < 4; i++) {
    const next = job.nextRun(from);
    if (!next) return null;
    if (next.getTime() > after.getTime()) return next;
    // Defensive: croner once stepped backwards across a DST gap in nextRuns().
    from = new Date(from.getTime() + 60_000);
  }
  return null;
}

/** Windows searched backwards for the latest tick (1 min … 10 years). */
const WINDOWS_MS = [60e3, 36e5, 864e5, 32 * 864e5, 367 * 864e5, 3660 * 864e5];

/**
 * The latest tick of `cron` in `tz` at or before `at` and not before
 * `notBefore`, or null when there is none. Used after downtime: only the most
 * recent missed tick is enqueued.
 */
export function latestTick(cron: string, tz: string, at: Date, notBefore: Date): Date | null {
  const job = cronOf(cron.trim(), tz);
  for (const w of WINDOWS_MS) {
    const start = Math.max(at.getTime() - w, notBefore.getTime() - 1);
    let cur = job.nextRun(new Date(start));
    if (!cur || cur.getTime() > at.getTime()) {
      if (start <= notBefore.getTime() - 1) return null;
      continue;
    }
    for (let i = 0; i < 100_000; i++) {
      const n = nextTick(cron, tz, cur);
      if (!n || n.getTime() > at.getTime()) return cur;
      cur = n;
    }
    return cur;
  }
  return null;
}
