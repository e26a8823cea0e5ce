/** The outbox's .eml files, composed without nodemailer, read back by mailparser. */
import { type ParsedMail, simpleParser as parseMail } from "mailparser";
import { composeEml } from "../worker/eml.ts";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";

// deno-lint-ignore no-explicit-any
const simpleParser = parseMail as (source: any) => Promise<ParsedMail>;

function lines(eml: Uint8Array): string[] {
  const text = new TextDecoder().decode(eml);
  assert(!/[^\r]\n/.test(text), "every line ends in CRLF");
  return text.split("\r\n");
}

Deno.test("eml: ASCII mail is 7bit and reads back field by field", async () => {
  const eml = composeEml({
    from: "jobq <jobq@localhost>",
    to: "ada@example.com",
    subject: "Welcome, Ada",
    text: "Hello Ada,\nwelcome aboard.\n\tIndented.",
    messageId: "<j1@jobq>",
    headers: { "X-Jobq-Job-Id": "j1", "X-Jobq-Attempt": "2" },
    date: new Date("2026-11-30T12:00:00Z"),
  });
  const ls = lines(eml);
  assert(ls.includes("Content-Transfer-Encoding: 7bit"), ls.join("\n"));
  assert(ls.includes("Date: Mon, 30 Nov 2026 12:00:00 +0000"), ls.join("\n"));
  const mail = await simpleParser(new TextDecoder().decode(eml));
  assertEquals(mail.subject, "Welcome, Ada");
  assertEquals(mail.messageId, "<j1@jobq>");
  assertEquals(mail.from?.value, [{ address: "jobq@localhost", name: "jobq" }]);
  assertEquals(
    JSON.stringify((mail.to as { value: unknown }).value),
    '[{"address":"ada@example.com","name":""}]',
  );
  assertEquals(mail.text, "Hello Ada,\nwelcome aboard.\n\tIndented.\n");
  assertEquals(mail.headers.get("x-jobq-attempt"), "2");
  assertEquals(mail.date?.toISOString(), "2026-11-30T12:00:00.000Z");
});

Deno.test("eml: non-ASCII text, long lines and header breaks are encoded, never injected", async () => {
  const subject = "Grüße, Zoë — ✓ ".repeat(8).trim();
  const body = `ünïcödé ✓\n${"x".repeat(5000)}\nend`;
  const eml = composeEml({
    from: "Jöbq Ärger <jobq@localhost>",
    to: "ada@example.com",
    subject,
    text: body,
    messageId: "<j2@jobq>",
    headers: { "X-Note": "one\r\nBcc: eve@example.com" },
  });
  const ls = lines(eml);
  assert(ls.every((l) => l.length <= 998), "no line longer than 998 characters");
  assert(ls.every((l) => /^[\x20-\x7e]*$/.test(l)), "the file is ASCII");
  assert(ls.includes("Content-Transfer-Encoding: base64"), ls.join("\n"));
  const mail = await simpleParser(new TextDecoder().decode(eml));
  assertEquals(mail.subject, subject);
  assertEquals(mail.from?.value, [{ address: "jobq@localhost", name: "Jöbq Ärger" }]);
  assertEquals(mail.text, body);
  assertEquals(mail.bcc, undefined, "a line break in a header value adds no header");
  assertMatch(String(mail.headers.get("x-note")), /^=\?UTF-8\?B\?[^\r\n]+\?=$/);
});
