/**
 * `GET /api/events`: Server-Sent Events for live dashboards. One shared
 * LISTEN connection per process feeds every stream (lib/live.ts); bursts of
 * changes are coalesced. Sends `ready` on connect, then `change` messages
 * (`data` is {seq, at, channels, notifications}) and a keep-alive comment
 * every 15 s; a client that goes away is unsubscribed at once. A reconnect's
 * `Last-Event-ID` (header, or `lastEventId` in the query) is accepted and
 * nothing is replayed; any other query parameter is a 422. `HEAD` answers the
 * headers without opening a stream.
 */
import { define } from "../../utils.ts";
import { eventsQuery } from "../../lib/api_schemas.ts";
import { type LiveChange, liveFeed } from "../../lib/live.ts";
import { HttpError } from "../../lib/http/errors.ts";
import { queryOf } from "./(_lib)/helpers.ts";

/** Most concurrent streams per process. */
const MAX_STREAMS = 1000;
const KEEPALIVE_MS = 15_000;
const STREAM_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

export const handler = define.handlers({
  async GET(ctx) {
    queryOf(ctx, eventsQuery);
    const feed = liveFeed(ctx.state.sql);
    if (feed.size >= MAX_STREAMS) {
      throw new HttpError(
        503,
        "too_many_streams",
        "too many live streams; try again later",
        undefined,
        {
          "retry-after": "5",
        },
      );
    }
    // A HEAD answer's body is dropped unread: a stream opened for it would never be cancelled.
    if (ctx.req.method === "HEAD") return new Response(null, { headers: STREAM_HEADERS });
    const enc = new TextEncoder();
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    let closed = false;
    let unsubscribe = () => {};
    const send = (text: string) => {
      if (closed || !controller) return;
      try {
        controller.enqueue(enc.encode(text));
      } catch {
        cleanup();
      }
    };
    const keepalive = setInterval(() => send(": keep-alive\n\n"), KEEPALIVE_MS);
    const cleanup = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepalive);
      unsubscribe();
      try {
        controller?.close();
      } catch {
        // the client side already closed the stream
      }
    };
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      cancel() {
        cleanup();
      },
    });
    // Subscribe before answering, so a database that cannot LISTEN is a 503, not a dead stream.
    // A client that goes away cancels the body stream (Deno.serve does so on disconnect).
    try {
      unsubscribe = await feed.subscribe(
        (c: LiveChange) => send(`id: ${c.seq}\nevent: change\ndata: ${JSON.stringify(c)}\n\n`),
        cleanup,
      );
    } catch (err) {
      cleanup();
      throw err;
    }
    send(`retry: 3000\nevent: ready\ndata: {"at":"${new Date().toISOString()}"}\n\n`);
    return new Response(body, { headers: STREAM_HEADERS });
  },
});
