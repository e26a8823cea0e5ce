/** The operations on alert rules: list, create, get, change, remove. */
import { z } from "zod";
import {
  alertListResponse,
  alertResponse,
  createAlertBody,
  patchAlertBody,
} from "../alerts/schema.ts";
import type { Kit } from "./kit.ts";

/** Request examples, each valid for its schema. */
export const ALERT_EXAMPLES = {
  create: {
    failureRate: {
      name: "mail failing",
      kind: "failure_rate",
      queue: "mail",
      threshold: 10,
      window_minutes: 15,
    },
    backlog: { name: "reports piling up", kind: "backlog", type: "report", threshold: 500 },
    oldestPending: { name: "jobs waiting", kind: "oldest_pending", threshold: 300 },
    noWorker: { name: "nobody serves mail", kind: "no_worker", queue: "mail" },
  },
  update: {
    disable: { enabled: false },
    threshold: { threshold: 25 },
  },
  delete: { empty: {} },
};

/** Registers them through `kit.op`. */
export function registerAlertOperations(kit: Kit): void {
  const Alert = kit.reg("Alert", alertResponse);
  const AlertList = kit.reg("AlertList", alertListResponse.extend({ items: z.array(Alert) }));
  const CreateAlert = kit.reg("CreateAlert", createAlertBody);
  const PatchAlert = kit.reg("PatchAlert", patchAlertBody);
  const idParam = z.object({
    id: z.string().describe("alert id (a whole number; anything else is a 404)"),
  });
  const notFound = { 404: kit.err("`alert_not_found`: no alert has this id") };
  const taken = { 409: kit.err("`alert_exists`: another alert has this name") };
  kit.op("get", "/api/alerts", {
    operationId: "listAlerts",
    tags: ["alerts"],
    summary: "Every alert rule with its state (firing ones first)",
    responses: {
      200: kit.ok("the rules", AlertList),
      ...kit.noQuery422,
      ...kit.common,
    },
  });
  kit.op("post", "/api/alerts", {
    operationId: "createAlert",
    tags: ["alerts"],
    summary: "Create an alert rule (evaluated by the worker processes every ALERT_EVAL_SECONDS)",
    request: {
      body: kit.jsonBody(CreateAlert, ALERT_EXAMPLES.create, {
        description: "failure_rate needs threshold (percent) and window_minutes; backlog and " +
          "oldest_pending need threshold (jobs, seconds); no_worker takes none; type only for " +
          "failure_rate and backlog",
      }),
    },
    responses: {
      201: {
        ...kit.ok("the stored rule (state ok until its first evaluation)", Alert),
        headers: { Location: { schema: { type: "string" }, description: "/api/alerts/<id>" } },
      },
      ...taken,
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/alerts/{id}", {
    operationId: "getAlert",
    tags: ["alerts"],
    summary: "One alert rule: firing since, last value, last notified",
    request: { params: idParam },
    responses: {
      200: kit.ok("the rule", Alert),
      ...notFound,
      ...kit.noQuery422,
      ...kit.common,
    },
  });
  kit.op("patch", "/api/alerts/{id}", {
    operationId: "updateAlert",
    tags: ["alerts"],
    summary: "Change an alert rule, or enable or disable it",
    request: {
      params: idParam,
      body: kit.jsonBody(PatchAlert, ALERT_EXAMPLES.update, {
        description: "the fields to change; the changed rule is validated whole. Disabling a " +
          "firing rule resolves it (its resolved notice is sent if its firing was)",
      }),
    },
    responses: {
      200: kit.ok("the changed rule", Alert),
      ...notFound,
      ...taken,
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("delete", "/api/alerts/{id}", {
    operationId: "deleteAlert",
    tags: ["alerts"],
    summary: "Remove an alert rule",
    request: {
      params: idParam,
      body: kit.jsonBody(kit.Empty, ALERT_EXAMPLES.delete, {
        required: false,
        description: "optional; when sent, an empty JSON object",
      }),
    },
    responses: {
      200: kit.ok("the removed rule", Alert),
      ...notFound,
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
}
