/**
 * A batch of log lines (the worker's `job.completed` per written batch): one
 * JSON object per line, each with its own fields, written at once; nothing
 * below the threshold.
 */
import { assertEquals } from "./_helpers/assert.ts";
import { logEach, setLogLevel } from "../lib/log.ts";

Deno.test("logEach: one JSON line per item, in one write; none below the threshold", () => {
  const writes: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => writes.push(args.map(String).join(" "));
  try {
    setLogLevel("info");
    logEach("info", "job.completed", [
      { job_id: "a", ms: 1 },
      { job_id: "b", ms: 2, error: new Error("kept as name and message") },
    ]);
    logEach("info", "job.completed", []);
    setLogLevel("warn");
    logEach("info", "job.completed", [{ job_id: "c" }]);
  } finally {
    console.error = original;
    setLogLevel("info");
  }
  assertEquals(writes.length, 1);
  const lines = writes[0].split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => [l.level, l.msg, l.job_id, l.ms]), [
    ["info", "job.completed", "a", 1],
    ["info", "job.completed", "b", 2],
  ]);
  assertEquals(lines[1].error, { name: "Error", message: "kept as name and message" });
  assertEquals(typeof lines[0].at, "string");
});
