/** The audit log's core: named API tokens, the actor of a request, and rows that are never updated. */
import { apiTokens, parseConfig } from "../lib/config.ts";
import { audit } from "../lib/queue/mod.ts";
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import { createTestDb } from "./_helpers/db.ts";

Deno.test("config: API_TOKEN entries may be named; unnamed ones are token-N", () => {
  assertEquals(apiTokens({ API_TOKEN: "ci:abc123, plain-Tok=,deploy:x.y~z" }), [
    { name: "ci", token: "abc123" },
    { name: "token-2", token: "plain-Tok=" },
    { name: "deploy", token: "x.y~z" },
  ]);
  assertEquals(apiTokens({}), []);
  const bad = ["ci:", ":tok", "a:b:c", "sp ace:tok", "ci:tok,"];
  for (const API_TOKEN of bad) {
    let message = "";
    try {
      parseConfig({ API_TOKEN });
    } catch (err) {
      message = (err as Error).message;
    }
    assert(message.includes("API_TOKEN"), `${API_TOKEN}: ${message}`);
  }
});

Deno.test("audit: record, list with filters, and no row is ever updated", async () => {
  const db = await createTestDb();
  try {
    const actor = { name: "ci", via: "token" as const, address: "10.0.0.7" };
    const job = crypto.randomUUID();
    await audit.record(db.sql, { actor, action: "job.cancel", jobIds: [job], count: 1 });
    await audit.record(db.sql, {
      actor: { name: "admin", via: "session", address: null },
      action: "bulk.retry",
      filter: { status: ["failed"], type: ["email"] },
      count: 3214,
    });
    const all = await audit.list(db.sql);
    assertEquals(all.total, 2);
    assertEquals(all.items.map((e) => e.action), ["bulk.retry", "job.cancel"]);
    assertEquals(all.items[0].filter, { status: ["failed"], type: ["email"] });
    assertEquals((await audit.list(db.sql, { job })).items.map((e) => e.actor), ["ci"]);
    assertEquals((await audit.list(db.sql, { actor: "admin" })).total, 1);
    assertEquals((await audit.list(db.sql, { action: ["job.cancel"] })).total, 1);
    assertEquals(audit.byline(actor), "by ci (token) from 10.0.0.7");
    await assertRejects(
      () => db.sql`UPDATE audit SET actor = 'someone else'`,
      Error,
      "never updated",
    );
    assertEquals((await audit.list(db.sql, { job })).items[0].actor, "ci");
  } finally {
    await db.drop();
  }
});
