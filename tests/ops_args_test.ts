/** Command-line parsing of `deno task seed` and `deno task prune`. */
import {
  formatDuration,
  parseCount,
  parseDays,
  parseDuration,
  parseFlags,
  UsageError,
} from "../scripts/args.ts";
import { assertEquals, assertMatch } from "./_helpers/assert.ts";
import nodeAssert from "node:assert/strict";

/** Runs `fn`, expects a UsageError, returns its message. */
function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    nodeAssert.ok(err instanceof UsageError, `expected a UsageError, got ${err}`);
    return err.message;
  }
  return nodeAssert.fail("expected a UsageError");
}

Deno.test("parseDuration: days, hours and minutes", () => {
  assertEquals(parseDuration("older-than", "30d"), 30 * 86_400_000);
  assertEquals(parseDuration("older-than", "12h"), 12 * 3_600_000);
  assertEquals(parseDuration("older-than", "90m"), 90 * 60_000);
  assertEquals(formatDuration(parseDuration("older-than", "90m")), "90m");
  assertEquals(formatDuration(parseDuration("older-than", "48h")), "2d");
});

Deno.test("parseDuration: bad input names the flag, the accepted forms and what was given", () => {
  for (const bad of ["30", "d", "30 days", "1.5d", "-1d", "30s", "1w", "", "30D"]) {
    const msg = usageError(() => parseDuration("older-than", bad));
    assertMatch(
      msg,
      /^--older-than: expected a whole number followed by d, h or m \(e\.g\. 30d, 12h, 90m\), got "/,
    );
    assertMatch(
      msg,
      new RegExp(`got ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
    );
  }
  assertMatch(usageError(() => parseDuration("older-than", "0d")), /must be longer than zero/);
  assertMatch(usageError(() => parseDuration("older-than", "99999d")), /at most 100 years/);
});

Deno.test("parseFlags: values inline or separate, switches, and clear errors", () => {
  const spec = { count: "value", spread: "value", "dry-run": "switch" } as const;
  assertEquals(parseFlags(["--count", "5", "--spread=2", "--dry-run"], spec), {
    count: "5",
    spread: "2",
    "dry-run": "true",
  });
  assertMatch(
    usageError(() => parseFlags(["--cuont", "5"], spec)),
    /unknown flag --cuont \(known: --count, --spread, --dry-run\)/,
  );
  assertMatch(usageError(() => parseFlags(["--count"], spec)), /--count needs a value/);
  assertMatch(
    usageError(() => parseFlags(["--count", "--dry-run"], spec)),
    /--count needs a value/,
  );
  assertMatch(usageError(() => parseFlags(["5"], spec)), /unexpected argument "5"/);
  assertMatch(usageError(() => parseFlags(["--dry-run=yes"], spec)), /--dry-run takes no value/);
});

Deno.test("parseCount and parseDays: ranges and forms", () => {
  assertEquals(parseCount("count", "1_000_000", 1, 10_000_000), 1_000_000);
  assertMatch(
    usageError(() => parseCount("count", "0", 1, 10)),
    /--count: expected a whole number from 1 to 10, got 0/,
  );
  assertMatch(usageError(() => parseCount("count", "1e6", 1, 10)), /got "1e6"/);
  assertEquals(parseDays("spread", "0.5", 3650), 0.5);
  assertMatch(
    usageError(() => parseDays("spread", "0", 3650)),
    /--spread: expected a number of days above 0/,
  );
  assertMatch(usageError(() => parseDays("spread", "week", 3650)), /got "week"/);
});
