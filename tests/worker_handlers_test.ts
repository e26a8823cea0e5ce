/**
 * Worker: the real handlers against real transports — the outbox, a local
 * SMTP server, a local webhook — and reports read back (CSV parsed, PDF
 * opened with unpdf).
 */
import { SMTPServer } from "smtp-server";
import { type ParsedMail, simpleParser as parseMail } from "mailparser";

// deno-lint-ignore no-explicit-any
const simpleParser = parseMail as (source: any) => Promise<ParsedMail>;
import { extractText, getDocumentProxy } from "unpdf";
import { join } from "node:path";
import * as artifacts from "../lib/queue/artifacts.ts";
import * as jobs from "../lib/queue/jobs.ts";
import type { Job } from "../lib/queue/types.ts";
import type { Supervisor } from "../worker/supervisor.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_helpers/assert.ts";
import { createTestDb, type TestDb } from "./_helpers/db.ts";
import { insertJob } from "./_helpers/factory.ts";
import { settled, testSupervisor } from "./_helpers/worker_sup.ts";

async function runJob(db: TestDb, sup: Supervisor, type: string, payload: unknown) {
  const job = await jobs.enqueue(db.sql, { job: { type, payload, max_attempts: 1 } });
  const done = settled(sup, job.id, 60_000);
  await db.sql`SELECT pg_notify('jobq_new', '')`;
  await done;
  return (await jobs.get(db.sql, { id: job.id }))! as Job & { result: Record<string, unknown> };
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of fields. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

Deno.test("worker handlers: outbox mail, outbox notifications, CSV and PDF reports", async (t) => {
  const db = await createTestDb();
  const { sup, dataDir } = await testSupervisor(db.url);
  try {
    await t.step(
      "email without SMTP_URL writes one complete .eml named after the job",
      async () => {
        const row = await runJob(db, sup, "email", {
          to: "ada@example.com",
          subject: "Welcome, Ada",
          body: "Hello Ada,\nwelcome aboard. ünïcödé ✓",
        });
        assertEquals(row.status, "completed");
        const path = join(dataDir, "outbox", `${row.id}.eml`);
        assertEquals(row.result, {
          message_id: `<${row.id}@jobq>`,
          to: "ada@example.com",
          transport: "outbox",
          path,
        });
        const mail: ParsedMail = await simpleParser(await Deno.readTextFile(path));
        assertEquals(mail.subject, "Welcome, Ada");
        assertEquals(mail.messageId, `<${row.id}@jobq>`);
        assertEquals(mail.text?.trim(), "Hello Ada,\nwelcome aboard. ünïcödé ✓");
        assertStringIncludes(JSON.stringify(mail.to), "ada@example.com");
        assert(mail.date instanceof Date, "has a Date header");
        const names = [];
        for await (const e of Deno.readDir(join(dataDir, "outbox"))) names.push(e.name);
        assertEquals(names, [`${row.id}.eml`], "no temporary files left behind");
      },
    );

    await t.step("an invalid payload fails at once with every issue", async () => {
      const row = await runJob(db, sup, "email", { to: "not-an-address", subject: "x" });
      assertEquals([row.status, row.attempts], ["failed", 1]);
      assertStringIncludes(row.error!, "invalid payload");
      assertStringIncludes(row.error!, "to: to must be an email address");
      assertStringIncludes(row.error!, "body:");
    });

    await t.step("a push notification without a webhook goes to the outbox as JSON", async () => {
      const row = await runJob(db, sup, "notification", {
        user_id: "user-42",
        channel: "push",
        message: "Your report is ready.",
      });
      assertEquals(row.status, "completed");
      assertEquals(row.result.delivered_via, "outbox");
      const body = JSON.parse(await Deno.readTextFile(row.result.path as string));
      assertEquals(body, {
        job_id: row.id,
        user_id: "user-42",
        channel: "push",
        message: "Your report is ready.",
      });
    });

    // Report data: jobs on 2026-01-10 and 2026-01-11, one outside the range.
    const day = (d: string, h = 12) => new Date(`${d}T${String(h).padStart(2, "0")}:00:00Z`);
    for (let i = 0; i < 3; i++) {
      await insertJob(db.sql, { status: "completed", created_at: day("2026-01-10", 9 + i) });
    }
    const failedJob = await insertJob(db.sql, {
      status: "failed",
      type: "report",
      created_at: day("2026-01-10"),
      error: 'boom, with "quotes"',
    });
    await db.sql`INSERT INTO job_event (job_id, at, kind, attempt, worker, message)
      VALUES (${failedJob.id}, ${
      day("2026-01-10", 13)
    }, 'failed', 1, 'w/1', 'boom, with "quotes"')`;
    // Pending but not due, so the running worker leaves it alone.
    await insertJob(db.sql, {
      status: "pending",
      type: "notification",
      created_at: day("2026-01-11"),
      scheduled_for: new Date("2099-01-01T00:00:00Z"),
    });
    const slow = await insertJob(db.sql, { status: "completed", created_at: day("2026-01-11") });
    await db.sql`UPDATE job SET started_at = ${day("2026-01-11", 12)}, completed_at = ${
      day("2026-01-11", 13)
    } WHERE id = ${slow.id}`;
    await insertJob(db.sql, { status: "completed", created_at: day("2026-02-01") });
    const range = { from: "2026-01-10", to: "2026-01-12" };

    await t.step(
      "a job_summary CSV has one row per day and type, with a failure rate",
      async () => {
        const row = await runJob(db, sup, "report", {
          report_type: "job_summary",
          format: "csv",
          date_range: range,
        });
        assertEquals(row.status, "completed");
        assertEquals(row.result.artifact, `/api/jobs/${row.id}/artifact`);
        const art = (await artifacts.get(db.sql, { jobId: row.id }))!;
        assertEquals(art.content_type, "text/csv; charset=utf-8");
        assertEquals(art.filename, "report-job_summary-2026-01-10_2026-01-12.csv");
        assertEquals(row.result.bytes, art.bytes.length);
        const csv = parseCsv(new TextDecoder().decode(art.bytes));
        assertEquals(csv, [
          [
            "day",
            "type",
            "total",
            "pending",
            "processing",
            "completed",
            "failed",
            "cancelled",
            "failure_rate",
          ],
          ["2026-01-10", "email", "3", "0", "0", "3", "0", "0", "0"],
          ["2026-01-10", "report", "1", "0", "0", "0", "1", "0", "1"],
          ["2026-01-11", "email", "1", "0", "0", "1", "0", "0", "0"],
          ["2026-01-11", "notification", "1", "1", "0", "0", "0", "0", ""],
        ]);
        assertEquals(row.result.rows, 4);
      },
    );

    await t.step("a failures CSV quotes messages safely", async () => {
      const row = await runJob(db, sup, "report", {
        report_type: "failures",
        format: "csv",
        date_range: range,
      });
      const art = (await artifacts.get(db.sql, { jobId: row.id }))!;
      const csv = parseCsv(new TextDecoder().decode(art.bytes));
      assertEquals(csv[0], ["at", "job_id", "type", "attempt", "worker", "final", "message"]);
      assertEquals(csv.length, 2);
      assertEquals(csv[1].slice(1), [
        failedJob.id,
        "report",
        "1",
        "w/1",
        "true",
        'boom, with "quotes"',
      ]);
    });

    await t.step("a throughput PDF opens, with its title, totals and the slowest job", async () => {
      const row = await runJob(db, sup, "report", {
        report_type: "throughput",
        format: "pdf",
        date_range: range,
      });
      assertEquals(row.status, "completed");
      const art = (await artifacts.get(db.sql, { jobId: row.id }))!;
      assertEquals(art.content_type, "application/pdf");
      assertEquals(new TextDecoder().decode(art.bytes.slice(0, 5)), "%PDF-");
      const pdf = await getDocumentProxy(new Uint8Array(art.bytes));
      const { totalPages, text } = await extractText(pdf, { mergePages: true });
      assertEquals(totalPages, 1);
      assertStringIncludes(text, "jobq report: throughput");
      assertStringIncludes(text, "Throughput per day (UTC)");
      assertStringIncludes(text, "2026-01-12");
      assertMatch(text, /Jobs: 6\s+completed: 4\s+failed: 1/);
      assertStringIncludes(text, "Slowest jobs");
      assertStringIncludes(text, "3600000");
    });

    await t.step("a long job_summary PDF breaks onto more pages", async () => {
      await jobs.enqueueBatch(db.sql, {
        jobs: Array.from({ length: 90 }, (_, i) => ({
          type: "email",
          payload: {},
          scheduled_for: "2030-01-01T00:00:00Z",
          priority: 1 + (i % 5),
        })),
        now: day("2026-01-12"),
      });
      // 90 more jobs over 90 days: one summary row per day.
      await db.sql`UPDATE job SET created_at = ${
        day("2025-10-01")
      }::timestamptz + (random() * 90 || ' days')::interval
        WHERE scheduled_for = '2030-01-01T00:00:00Z'`;
      const row = await runJob(db, sup, "report", {
        report_type: "job_summary",
        format: "pdf",
        date_range: { from: "2025-10-01", to: "2026-01-12" },
      });
      assertEquals(row.status, "completed");
      const art = (await artifacts.get(db.sql, { jobId: row.id }))!;
      const pdf = await getDocumentProxy(new Uint8Array(art.bytes));
      assert(pdf.numPages >= 2, `expected several pages, got ${pdf.numPages}`);
    });
  } finally {
    await sup.stop();
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("worker handlers: SMTP on loopback and the notification webhook", async (t) => {
  const db = await createTestDb();
  const received: ParsedMail[] = [];
  const mailWaiters: (() => void)[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    // deno-lint-ignore no-explicit-any
    onData(stream: any, _session: unknown, cb: (err?: Error) => void) {
      simpleParser(stream).then((m) => {
        received.push(m);
        mailWaiters.splice(0).forEach((w) => w());
        cb();
      }, cb);
    },
  });
  await new Promise<void>((r) => smtp.listen(0, "127.0.0.1", () => r()));
  const smtpPort = (smtp.server.address() as { port: number }).port;

  const hooks: { headers: Headers; body: unknown }[] = [];
  let answer = 200;
  const listening = Promise.withResolvers<number>();
  const web = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => listening.resolve(port),
  }, async (req) => {
    hooks.push({ headers: req.headers, body: await req.json() });
    return new Response(answer === 200 ? "ok" : "try later", { status: answer });
  });
  const webPort = await listening.promise;

  const { sup, dataDir } = await testSupervisor(db.url, {
    env: {
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${webPort}/hook`,
      MAIL_FROM: "jobq tests <jobq@example.test>",
    },
  });
  try {
    await t.step("email goes through SMTP with the job's Message-ID", async () => {
      const row = await runJob(db, sup, "email", {
        to: "grace@example.com",
        subject: "Over SMTP",
        body: "Sent by a real SMTP client.",
      });
      assertEquals(row.status, "completed");
      assertEquals(row.result, {
        message_id: `<${row.id}@jobq>`,
        to: "grace@example.com",
        transport: "smtp",
      });
      const mail = received.find((m) => m.messageId === `<${row.id}@jobq>`)!;
      assert(mail, "the SMTP server received the message");
      assertEquals(mail.subject, "Over SMTP");
      assertEquals(mail.text?.trim(), "Sent by a real SMTP client.");
      assertStringIncludes(JSON.stringify(mail.from), "jobq@example.test");
    });

    await t.step("an email-channel notification goes through the mail transport", async () => {
      const row = await runJob(db, sup, "notification", {
        user_id: "lin@example.com",
        channel: "email",
        message: "Ping by mail",
      });
      assertEquals(row.status, "completed");
      assertEquals(row.result.delivered_via, "email");
      assertEquals(row.result.transport, "smtp");
      const mail = received.find((m) => m.messageId === `<${row.id}@jobq>`)!;
      assertEquals(mail.text?.trim(), "Ping by mail");
      assertStringIncludes(JSON.stringify(mail.to), "lin@example.com");
    });

    await t.step("an sms notification is POSTed as JSON to the webhook", async () => {
      const row = await runJob(db, sup, "notification", {
        user_id: "user-7",
        channel: "sms",
        message: "Your code is 1234",
      });
      assertEquals(row.status, "completed");
      assertEquals(row.result, { delivered_via: "webhook", channel: "sms", status: 200 });
      const hook = hooks.at(-1)!;
      assertEquals(hook.body, {
        job_id: row.id,
        user_id: "user-7",
        channel: "sms",
        message: "Your code is 1234",
      });
      assertEquals(hook.headers.get("content-type"), "application/json");
      assertEquals(hook.headers.get("idempotency-key"), row.id);
    });

    await t.step("a non-2xx webhook answer fails the attempt with the status", async () => {
      answer = 503;
      const row = await runJob(db, sup, "notification", {
        user_id: "user-8",
        channel: "push",
        message: "will fail",
      });
      assertEquals(row.status, "failed");
      assertStringIncludes(row.error!, "webhook answered 503");
      assertStringIncludes(row.error!, "try later");
      answer = 200;
    });

    const names = [];
    try {
      for await (const e of Deno.readDir(join(dataDir, "outbox"))) names.push(e.name);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    assertEquals(names, [], "nothing went to the outbox while transports were set");
  } finally {
    await sup.stop();
    await web.shutdown();
    await new Promise<void>((r) => smtp.close(() => r()));
    await db.drop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
