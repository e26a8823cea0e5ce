/**
 * The export at a million rows, memory read from /proc: `bench/export_rss.ts`
 * seeds `EXPORT_SOAK_COUNT` jobs (default 1,000,000) into a scratch database,
 * runs the real web server with `deno task start`'s V8 flags, downloads each
 * export over HTTP while sampling the server's VmRSS, and prints one line a
 * download. Asserted: every row arrives, and the server's peak during the
 * export of every job stays within 1.5× its peak during a small filtered one
 * (memory does not grow with the rows). Bounds on memory, never on time.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { adminUrl } from "../_helpers/db.ts";

const COUNT = Number(Deno.env.get("EXPORT_SOAK_COUNT") ?? 1_000_000);

Deno.test("soak: the export of a million rows keeps the server's memory flat", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../bench/export_rss.ts", import.meta.url).pathname,
      "--count",
      String(COUNT),
      "--v8-flags=--max-semi-space-size=1,--max-old-space-size=256",
    ],
    env: { DATABASE_URL: await adminUrl() },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  console.log(text);
  assertEquals(out.code, 0, "bench/export_rss.ts ran to the end");
  const line = (label: string) => {
    const m = new RegExp(`^${label}\\s+rows\\s+(\\d+).*peak ([\\d.]+) MB`, "m").exec(text);
    assert(m, `a line for "${label}"`);
    return { rows: Number(m[1]), peakMb: Number(m[2]) };
  };
  const reference = line("csv, status=failed \\(reference\\)");
  for (const label of ["csv, every job", "ndjson, every job"]) {
    const run = line(label);
    assertEquals(run.rows, COUNT, `${label}: every row`);
    assert(
      run.peakMb <= reference.peakMb * 1.5,
      `${label}: peak ${run.peakMb} MB against ${reference.peakMb} MB for ${reference.rows} rows`,
    );
  }
});
