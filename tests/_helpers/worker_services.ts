/**
 * The test bundle of one worker service, after River's `setup(t)`: a database
 * of its own, the process-wide pieces a service is given (database health,
 * event bus) and a record of what they were told.
 */
import { parseConfig } from "../../lib/config.ts";
import { openPool, type Sql } from "../../lib/db.ts";
import { setLogLevel } from "../../lib/log.ts";
import { EventBus, type SupervisorEvent } from "../../worker/services/events.ts";
import { DbHealth } from "../../worker/services/health.ts";
import { createTestDb, type TestDb } from "./db.ts";

/** What a service test works with. */
export interface ServiceBundle {
  db: TestDb;
  /** The id the service runs as (a worker process id). */
  id: string;
  health: DbHealth;
  events: EventBus;
  /** Every event emitted on `events`, in order. */
  emitted: SupervisorEvent[];
  /** Outages `health` saw start (first error of each). */
  downs: string[];
  /** Ends of outages `health` saw (their length in ms). */
  ups: number[];
  /** Drops the database (and closes `extra` pools first). */
  teardown(...extra: Sql[]): Promise<void>;
}

/** A fresh bundle; call `teardown()` in `finally`. */
export async function setupService(): Promise<ServiceBundle> {
  setLogLevel(quietConfig().LOG_LEVEL);
  const db = await createTestDb();
  const id = `testhost:${Deno.pid}:${crypto.randomUUID().slice(0, 6)}`;
  const downs: string[] = [];
  const ups: number[] = [];
  const events = new EventBus(id);
  const emitted: SupervisorEvent[] = [];
  events.on((e) => emitted.push(e));
  const health = new DbHealth({
    worker: id,
    onDown: (error) => downs.push(error),
    onUp: (ms) => ups.push(ms),
  });
  return {
    db,
    id,
    health,
    events,
    emitted,
    downs,
    ups,
    async teardown(...extra: Sql[]) {
      for (const sql of extra) await sql.end({ timeout: 1 }).catch(() => {});
      await db.drop();
    },
  };
}

/** A pool to a port nothing listens on: every statement fails as the database being down. */
export function unreachablePool(): Sql {
  return openPool("postgres://postgres@127.0.0.1:1/nowhere", { max: 1, connectTimeout: 2 });
}

/** The quiet test configuration the supervisor tests use. */
export function quietConfig(env: Record<string, string> = {}) {
  return parseConfig({ LOG_LEVEL: Deno.env.get("TEST_LOG_LEVEL") ?? "error", ...env });
}

/** A promise with its resolver, resolved by the first call of the returned function. */
export function signal<T>(): { promise: Promise<T>; fire: (v: T) => void } {
  const { promise, resolve } = Promise.withResolvers<T>();
  return { promise, fire: resolve };
}
