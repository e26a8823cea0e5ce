/** `/api/events`: Server-Sent Events driven by LISTEN, coalesced, one LISTEN connection per process. */
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type ApiServer, startApiServer } from "./_helpers/api_server.ts";
import { closeLiveStreams, liveFeed } from "../lib/live.ts";

interface SseEvent {
  event: string;
  data: string;
}

/** Opens the stream and parses its events as they come. */
async function openStream(s: ApiServer) {
  const res = await s.call("/api/events");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = "";
  const waiters: (() => void)[] = [];
  const pump = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += value;
        let i;
        while ((i = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          const ev: SseEvent = { event: "message", data: "" };
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) ev.event = line.slice(7);
            else if (line.startsWith("data: ")) ev.data += line.slice(6);
          }
          if (ev.data) events.push(ev);
          waiters.splice(0).forEach((w) => w());
        }
      }
    } catch {
      // cancelled
    }
  })();
  return {
    events,
    /** Resolves when `pred` holds for the events so far (fails after `ms`). */
    async until(pred: (evs: SseEvent[]) => boolean, ms = 5000) {
      const deadline = Date.now() + ms;
      while (!pred(events)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    async close() {
      await reader.cancel();
      await pump;
    },
  };
}

Deno.test({
  name: "events: a message after a job is created; bursts coalesce; clients share one LISTEN",
}, async (t) => {
  // A real socket: SSE streaming and client disconnects are the point. Each step has a server
  // of its own, so the live feed it counts holds only its own streams.
  const served = (fn: (s: ApiServer) => Promise<void>) => async () => {
    const s = await startApiServer();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  };
  await t.step(
    "ready on connect, then a change after POST /api/jobs",
    served(async (s) => {
      const stream = await openStream(s);
      await stream.until((e) => e.some((x) => x.event === "ready"));
      const res = await s.post("/api/jobs", {
        type: "email",
        payload: { to: "a@example.com", subject: "s", body: "b" },
      });
      assertEquals(res.status, 201);
      await res.body?.cancel();
      await stream.until((e) => e.some((x) => x.event === "change"));
      const change = JSON.parse(stream.events.find((x) => x.event === "change")!.data);
      assert(change.channels.includes("jobq_changed") || change.channels.includes("jobq_new"));
      await stream.close();
    }),
  );

  await t.step(
    "a burst of 2,000 changes gives far fewer messages",
    served(async (s) => {
      const stream = await openStream(s);
      await stream.until((e) => e.some((x) => x.event === "ready"));
      await s.db.sql`
        DO $$ BEGIN
          FOR i IN 1..2000 LOOP PERFORM pg_notify('jobq_changed', i::text); END LOOP;
        END $$`;
      const changes = () =>
        stream.events.filter((x) => x.event === "change").map((x) => JSON.parse(x.data));
      await stream.until(() =>
        changes().reduce((n, c) => n + (c.notifications as number), 0) >= 2000
      );
      const count = changes().length;
      assert(count >= 1 && count <= 10, `2,000 notifications became ${count} messages`);
      await stream.close();
    }),
  );

  await t.step(
    "five clients, one LISTEN connection; disconnects unsubscribe",
    served(async (s) => {
      const streams = await Promise.all(Array.from({ length: 5 }, () => openStream(s)));
      for (const st of streams) await st.until((e) => e.some((x) => x.event === "ready"));
      assertEquals(liveFeed(s.db.sql).size, 5);
      const [{ n }] = await s.db.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND query ILIKE 'listen %'`;
      assertEquals(n, 1);
      for (const st of streams) await st.close();
      const deadline = Date.now() + 3000;
      while (liveFeed(s.db.sql).size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assertEquals(liveFeed(s.db.sql).size, 0);
    }),
  );

  await t.step(
    "HEAD answers the stream's headers and leaves no subscription",
    served(async (s) => {
      const res = await s.call("/api/events", { method: "HEAD" });
      assertEquals([res.status, res.headers.get("content-type")], [
        200,
        "text/event-stream; charset=utf-8",
      ]);
      await res.body?.cancel();
      assertEquals(liveFeed(s.db.sql).size, 0);
    }),
  );

  await t.step(
    "a reconnect's Last-Event-ID is accepted; other query parameters are 422",
    served(async (s) => {
      const header = await s.call("/api/events", { headers: { "last-event-id": "7" } });
      const query = await s.call("/api/events?lastEventId=7");
      assertEquals([header.status, query.status], [200, 200]);
      await header.body?.cancel();
      await query.body?.cancel();
      const other = await s.call("/api/events?since=7");
      assertEquals(other.status, 422);
      await other.body?.cancel();
    }),
  );

  await t.step(
    "closeLiveStreams ends open streams (so a graceful shutdown can finish)",
    served(async (s) => {
      const res = await s.call("/api/events");
      const reader = res.body!.getReader();
      await reader.read();
      closeLiveStreams(s.db.sql);
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
      }
      assertEquals(liveFeed(s.db.sql).size, 0);
    }),
  );
});
