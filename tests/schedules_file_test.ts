/**
 * The schedules file (SCHEDULES_FILE): validation that names the schedule and
 * the field, precedence over the API, the shipped example, and a worker
 * process that refuses to start on a bad file.
 */
import { join } from "node:path";
import {
  applySchedulesFile,
  readSchedulesFile,
  SchedulesFileError,
} from "../lib/schedules/file.ts";
import { schedules } from "../lib/queue/mod.ts";
import { createScheduleBody } from "../lib/schedules/schema.ts";
import { ROOT } from "../lib/web/paths.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

const EMAIL = { to: "ops@example.com", subject: "s", body: "b" };

async function fileWith(value: unknown): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

Deno.test("schedules file: a bad file is refused naming each schedule and field", async () => {
  const path = await fileWith({
    schedules: [
      { name: "ok-one", cron: "@daily", type: "email", payload: EMAIL },
      { name: "broken", cron: "* * * * * *", type: "email", payload: { ...EMAIL, to: "nope" } },
      { name: "ok-one", cron: "@hourly", timezone: "Nowhere/Land", type: "email", payload: EMAIL },
    ],
  });
  try {
    const err = await assertRejects(() => readSchedulesFile(path), SchedulesFileError);
    assertStringIncludes(err.message, path);
    assertStringIncludes(err.message, 'schedule "broken" (#2): cron: cron must have 5 fields');
    assertStringIncludes(err.message, 'schedule "broken" (#2): payload.to:');
    assertStringIncludes(err.message, 'schedule "ok-one" (#3): timezone:');
    assertStringIncludes(err.message, 'schedule "ok-one" (#3): name: name ok-one appears twice');
    await Deno.writeTextFile(path, "{ not json");
    const bad = await assertRejects(() => readSchedulesFile(path), SchedulesFileError);
    assertStringIncludes(bad.message, "not valid JSON");
    assertEquals(await readSchedulesFile(path + ".missing"), null);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("schedules file: the shipped schedules.json is valid and enqueues nothing", async () => {
  const shipped = await readSchedulesFile(join(ROOT, "schedules.json"));
  assert(shipped !== null, "schedules.json ships with the project");
  for (const s of shipped) assertEquals(s.enabled, false, `${s.name} must ship disabled`);
});

Deno.test({
  name: "schedules file: the file wins over the API, keeps an operator's enabled when it " +
    "declares none, and removes what it no longer declares",
  sanitizeResources: false,
  fn: async () => {
    const db = await createTestDb();
    const now = new Date("2026-05-04T10:00:30Z");
    try {
      const api = (name: string, cron: string) =>
        schedules.create(db.sql, {
          schedule: createScheduleBody.parse({ name, cron, type: "email", payload: EMAIL }),
          now,
        });
      await api("shared", "@hourly");
      await api("api-only", "@daily");
      const path = await fileWith({
        schedules: [
          {
            name: "shared",
            cron: "0 6 * * *",
            timezone: "Europe/Berlin",
            type: "email",
            payload: EMAIL,
          },
          { name: "file-off", cron: "@weekly", type: "email", payload: EMAIL, enabled: false },
        ],
      });
      try {
        let applied = await applySchedulesFile(db.sql, { path, now });
        assertEquals(applied, { created: ["file-off"], updated: ["shared"], removed: [] });
        const shared = await schedules.get(db.sql, { name: "shared" });
        assertEquals([shared?.source, shared?.cron, shared?.timezone], [
          "file",
          "0 6 * * *",
          "Europe/Berlin",
        ]);
        assertEquals(shared?.next_run_at?.toISOString(), "2026-05-05T04:00:00.000Z");
        assertEquals((await schedules.get(db.sql, { name: "file-off" }))?.next_run_at, null);
        // An operator disables "shared" from the page; a restart keeps that (the file has no enabled).
        await schedules.update(db.sql, { name: "shared", patch: { enabled: false } });
        applied = await applySchedulesFile(db.sql, { path, now });
        assertEquals((await schedules.get(db.sql, { name: "shared" }))?.enabled, false);
        // "file-off" declares enabled: false, so the file's value comes back at each start.
        await schedules.update(db.sql, { name: "file-off", patch: { enabled: true } });
        await applySchedulesFile(db.sql, { path, now });
        assertEquals((await schedules.get(db.sql, { name: "file-off" }))?.enabled, false);
        // Dropped from the file: deleted; API schedules stay.
        await Deno.writeTextFile(path, JSON.stringify({ schedules: [] }));
        applied = await applySchedulesFile(db.sql, { path, now });
        assertEquals(applied?.removed.sort(), ["file-off", "shared"]);
        assertEquals((await schedules.list(db.sql)).map((s) => s.name), ["api-only"]);
        // A missing file changes nothing.
        assertEquals(await applySchedulesFile(db.sql, { path: path + ".gone", now }), null);
        assertEquals((await schedules.list(db.sql)).map((s) => s.name), ["api-only"]);
      } finally {
        await Deno.remove(path);
      }
    } finally {
      await db.drop();
    }
  },
});

Deno.test({
  name: "schedules file: a worker process with a bad file exits 1 naming the schedule and field",
  sanitizeResources: false,
  fn: async () => {
    const db = await createTestDb();
    const path = await fileWith({
      schedules: [{ name: "nightly", cron: "0 25 * * *", type: "email", payload: EMAIL }],
    });
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", join(ROOT, "worker/main.ts")],
        env: { DATABASE_URL: db.url, SCHEDULES_FILE: path, LOG_LEVEL: "error", NO_COLOR: "1" },
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 1, stderr);
      assertStringIncludes(stderr, `worker: ${path}: invalid schedules file:`);
      assertStringIncludes(stderr, 'schedule "nightly" (#1): cron: cron is not valid');
      const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM schedule`;
      assertEquals(n, 0);
    } finally {
      await Deno.remove(path);
      await db.drop();
    }
  },
});
