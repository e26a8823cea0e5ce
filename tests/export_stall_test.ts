/** An export whose client stays connected but stops reading is cut off and lets its cursor go. */
import { assert, assertEquals, assertRejects } from "./_helpers/assert.ts";
import { exportStream } from "../lib/http/export_stream.ts";
import type { Job } from "../lib/queue/types.ts";

Deno.test("export stream: a client that stops reading is cut off, the cursor closed, onEnd called", async () => {
  const job = { id: "00000000-0000-4000-8000-000000000001", type: "email", payload: {} } as Job;
  let returned = 0, asked = 0;
  const batches: AsyncIterator<Job[], void> = {
    next: () => (asked++, Promise.resolve({ done: false, value: [job] })),
    return: () => (returned++, Promise.resolve({ done: true, value: undefined })),
  };
  let ended!: () => void;
  const endedP = new Promise<void>((r) => (ended = r));
  const stream = exportStream(batches, undefined, { format: "ndjson", onEnd: ended, stallMs: 50 });
  const reader = stream.getReader();
  const first = await reader.read();
  assert(!first.done && new TextDecoder().decode(first.value).includes(job.id));
  // No more reads: the stall timer cuts the download off.
  await endedP;
  assertEquals(returned, 1, "the cursor was closed");
  await assertRejects(
    async () => {
      for (;;) if ((await reader.read()).done) break;
    },
    Error,
    "stopped reading",
  );
  assert(asked <= 2, `it stopped fetching (${asked} batches asked)`);
});

Deno.test("export stream: a client that keeps reading is never cut off", async () => {
  const job = { id: "00000000-0000-4000-8000-000000000002", type: "email", payload: {} } as Job;
  let left = 5, returned = 0;
  const batches: AsyncIterator<Job[], void> = {
    next: async () => {
      await new Promise((r) => setTimeout(r, 5));
      return left-- > 0 ? { done: false, value: [job] } : { done: true, value: undefined };
    },
    return: () => (returned++, Promise.resolve({ done: true, value: undefined })),
  };
  const text = await new Response(
    exportStream(batches, undefined, { format: "ndjson", stallMs: 1000 }),
  ).text();
  assertEquals(text.trim().split("\n").length, 5);
  assertEquals(returned, 0);
});
