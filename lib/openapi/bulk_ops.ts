/** Bulk by filter (documented on `POST /api/jobs/bulk`) and its undo. */
import * as s from "../bulk_schemas.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerBulkOperations(kit: Kit): void {
  kit.op("post", "/api/jobs/bulk/undo", {
    operationId: "undoBulk",
    tags: ["jobs"],
    summary: "Take back a bulk cancel or retry (within a minute)",
    description: "Each job the action changed whose row nobody has changed since gets back " +
      "its previous status, attempts, scheduled_for and updated_at (with a `restored` event); " +
      "the others (claimed, finished, retried, deleted…) are left alone and counted in " +
      "`moved_on`. A running job whose cancel was requested is not in the undo (its worker " +
      "was already told to stop). Runs once.",
    request: {
      body: kit.jsonBody(s.bulkUndoBody, {
        undo: { undo_id: "0f8fad5b-d9cb-469f-a165-70867728950e" },
      }),
    },
    responses: {
      200: kit.ok("what the undo did", s.bulkUndoResponse),
      410: kit.err(
        "`undo_expired`: no such offer (it lasts 60 s after the action, and runs once)",
      ),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
}
