/**
 * `GET /readyz`: readiness — 200 when the database answers and every
 * migration is applied, else 503 saying which check failed.
 */
import { define } from "../utils.ts";
import { pendingMigrations } from "../lib/migrate.ts";
import { log } from "../lib/log.ts";
import { json } from "../lib/http/json.ts";
import { refuseQuery } from "./_query.ts";

const TIMEOUT_MS = 2000;

export const handler = define.handlers({
  async GET(ctx) {
    const refused = refuseQuery(ctx.url);
    if (refused) return refused;
    let pending: string[];
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      pending = await Promise.race([
        pendingMigrations(ctx.state.sql),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)),
            TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      // Counted in the outage's log lines (start, end), not one line per probe.
      ctx.state.outage.refused();
      log("debug", "readyz.database_unreachable", { request_id: ctx.state.requestId, error: err });
      return json(
        { status: "not_ready", database: "unreachable", pending_migrations: [] },
        { status: 503, headers: { "retry-after": "2" } },
      );
    } finally {
      clearTimeout(timer);
    }
    const ready = pending.length === 0;
    return json(
      { status: ready ? "ready" : "not_ready", database: "ok", pending_migrations: pending },
      { status: ready ? 200 : 503 },
    );
  },
});
