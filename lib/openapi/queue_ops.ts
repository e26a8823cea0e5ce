/** The operations on named queues. */
import { z } from "zod";
import { QUEUE_NAME_RE } from "../job_constants.ts";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerQueueOperations(kit: Kit): void {
  const nameParam = z.object({
    name: z.string().regex(QUEUE_NAME_RE).describe("queue name (a malformed name is a 404)"),
  });
  const notFound = { 404: kit.err("`queue_not_found`: no queue has this name") };
  kit.op("get", "/api/queues", {
    operationId: "listQueues",
    tags: ["queues"],
    summary: "Every queue with its limit, paused flag and jobs per status",
    responses: {
      200: kit.ok("the queues, by name", kit.QueueList),
      ...kit.noQuery422,
      ...kit.common,
    },
  });
  kit.op("get", "/api/queues/{name}", {
    operationId: "getQueue",
    tags: ["queues"],
    summary: "One queue with its limit, paused flag and jobs per status",
    request: { params: nameParam },
    responses: {
      200: kit.ok("the queue", kit.Queue),
      ...notFound,
      ...kit.noQuery422,
      ...kit.common,
    },
  });
  kit.op("patch", "/api/queues/{name}", {
    operationId: "updateQueue",
    tags: ["queues"],
    summary: "Pause or resume a queue, or set or clear its concurrency limit",
    request: {
      params: nameParam,
      body: kit.jsonBody(kit.QueuePatch, EXAMPLES.patchQueue, {
        description: "`paused` and/or `concurrency` (1–100000, or null: unlimited; 0 is a " +
          "422, pause the queue instead). A refused request changes nothing.",
      }),
    },
    responses: {
      200: kit.ok("the queue as changed", kit.Queue),
      ...notFound,
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
}
