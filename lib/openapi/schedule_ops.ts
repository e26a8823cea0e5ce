/** The operations on schedules (recurring jobs): list, create, get, change, remove, run now. */
import { z } from "zod";
import { EXAMPLES } from "./examples.ts";
import type { Kit } from "./kit.ts";

/** Registers them through `kit.op`. */
export function registerScheduleOperations(kit: Kit): void {
  const nameParam = z.object({
    name: z.string().describe("schedule name (`^[a-z][a-z0-9_-]{0,62}$`)"),
  });
  const notFound = { 404: kit.err("`schedule_not_found`: no schedule of that name") };
  const fromFile = "`schedule_from_file`: the schedule is declared in SCHEDULES_FILE";
  kit.op("get", "/api/schedules", {
    operationId: "listSchedules",
    tags: ["schedules"],
    summary: "Every schedule, by name",
    responses: { 200: kit.ok("the schedules", kit.ScheduleList), ...kit.noQuery422, ...kit.common },
  });
  kit.op("post", "/api/schedules", {
    operationId: "createSchedule",
    tags: ["schedules"],
    summary: "Create a schedule: a job made at each tick of a cron in a time zone",
    request: { body: kit.jsonBody(kit.CreateSchedule, EXAMPLES.createSchedule) },
    responses: {
      201: {
        ...kit.ok("the stored schedule (`next_run_at` is its first tick)", kit.Schedule),
        headers: {
          Location: { schema: { type: "string" }, description: "/api/schedules/<name>" },
        },
      },
      409: kit.err("`schedule_exists`: the name is taken"),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("get", "/api/schedules/{name}", {
    operationId: "getSchedule",
    tags: ["schedules"],
    summary: "One schedule, with its next run, last run and last job",
    request: { params: nameParam },
    responses: {
      200: kit.ok("the schedule", kit.Schedule),
      ...notFound,
      ...kit.noQuery422,
      ...kit.common,
    },
  });
  kit.op("patch", "/api/schedules/{name}", {
    operationId: "updateSchedule",
    tags: ["schedules"],
    summary: "Change a schedule (a file schedule: `enabled` only)",
    request: {
      params: nameParam,
      body: kit.jsonBody(kit.PatchSchedule, EXAMPLES.updateSchedule, {
        description: "the fields to change; the changed schedule is validated whole (a new " +
          "type needs a payload that fits it). A change of cron, timezone or enabled " +
          "recomputes next_run_at",
      }),
    },
    responses: {
      200: kit.ok("the changed schedule", kit.Schedule),
      ...notFound,
      409: kit.err(`${fromFile}: change it there (only enabled can change here)`),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("delete", "/api/schedules/{name}", {
    operationId: "deleteSchedule",
    tags: ["schedules"],
    summary: "Remove a schedule (the jobs it made stay)",
    request: {
      params: nameParam,
      body: kit.jsonBody(kit.Empty, EXAMPLES.deleteSchedule, {
        required: false,
        description: "optional; when sent, an empty JSON object",
      }),
    },
    responses: {
      200: kit.ok("the removed schedule", kit.Schedule),
      ...notFound,
      409: kit.err(`${fromFile}: remove it there`),
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
  kit.op("post", "/api/schedules/{name}/run", {
    operationId: "runSchedule",
    tags: ["schedules"],
    summary: "Enqueue the schedule's job now (next_run_at does not move)",
    request: {
      params: nameParam,
      body: kit.jsonBody(kit.Empty, EXAMPLES.runSchedule, {
        required: false,
        description: "optional; when sent, an empty JSON object",
      }),
    },
    responses: {
      201: {
        ...kit.ok("the new job (also for a disabled schedule)", kit.Job),
        headers: { Location: { schema: { type: "string" }, description: "/api/jobs/<id>" } },
      },
      ...notFound,
      ...kit.bodyErrors,
      ...kit.common,
    },
  });
}
