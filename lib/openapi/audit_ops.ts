/** The audit log's operation. */
import { auditPageResponse, auditQuery } from "../audit_schema.ts";
import type { Kit } from "./kit.ts";

/** Registers it through `kit.op`. */
export function registerAuditOperations(kit: Kit): void {
  kit.op("get", "/api/audit", {
    operationId: "listAudit",
    tags: ["audit"],
    summary: "The audit log: who did which operator action, from where, on which jobs",
    description: "Newest first. Every operator action is an entry (creates from the " +
      "dashboard's form, cancels, retries, edits, deletes, bulk actions with their filter and " +
      "count, queue and schedule changes), written in the action's own transaction; entries " +
      "are never changed and are kept RETAIN_AUDIT (default 90 days). Jobs created through " +
      "`POST /api/jobs` are not entries.",
    request: {
      query: auditQuery.extend({
        action: auditQuery.shape.action.meta(kit.commaList(
          "any of these actions: comma-separated (canonical); repeating is accepted too",
        )),
        actor: auditQuery.shape.actor.describe(
          "the API token's name, the dashboard user, or `anonymous`",
        ),
        job: auditQuery.shape.job.describe("entries naming this job id"),
        since: auditQuery.shape.since.describe("entries at or after this instant"),
        until: auditQuery.shape.until.describe("entries before this instant"),
      }),
    },
    responses: {
      200: kit.ok("a page of entries and the total of matches", auditPageResponse),
      422: kit.err("a bad filter, limit or offset, or an unknown parameter"),
      ...kit.common,
    },
  });
}
