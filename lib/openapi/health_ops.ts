/** The database health operation. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { dbHealthResponse, healthQuery } from "../health_schema.ts";
import type { Kit } from "./kit.ts";

/** Registers it through `kit.op` (its answer as the `DbHealth` component of `r`). */
export function registerHealthOperations(kit: Kit, r: OpenAPIHono["openAPIRegistry"]): void {
  const DbHealth = r.register("DbHealth", dbHealthResponse.clone());
  kit.op("get", "/api/health/db", {
    operationId: "getDbHealth",
    tags: ["health"],
    summary: "Database health: table and index sizes, dead tuples and vacuum, what holds " +
      "vacuum back, connections, slowest statements",
    description: "Every figure is `{value, level, meaning}`: `level` is ok, warn or bad by the " +
      "`thresholds` in the answer, `meaning` one line saying what it is. Tables are those of " +
      "the current schema (new ones appear on their own). Slow statements need the " +
      "pg_stat_statements extension in this database and in shared_preload_libraries; " +
      "without it `statements.state` is `not_installed` (or `unreadable`) and the message " +
      "says how to enable it. Read only.",
    request: { query: healthQuery },
    responses: {
      200: kit.ok("the figures", DbHealth),
      422: kit.err("`validation_failed`: an unknown parameter or a sort other than mean|total"),
      ...kit.common,
    },
  });
}
