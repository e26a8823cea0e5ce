/**
 * The HTTP phase's yardstick: a bare `Deno.serve` that reads each request's
 * body and answers 201 with a small JSON object, as fast as this machine
 * serves HTTP from Deno at all. Prints `listening <port>` once it listens.
 *
 *   deno run -A bench/bare_server.ts [--port 0]
 */
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "0" } },
});

const BODY = JSON.stringify({ id: "00000000-0000-0000-0000-000000000000", status: "pending" });

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(args.port),
  onListen: ({ port }) => console.log(`listening ${port}`),
}, async (req) => {
  await req.text();
  return new Response(BODY, { status: 201, headers: { "content-type": "application/json" } });
});
Deno.addSignalListener("SIGTERM", () => server.shutdown());
await server.finished;
