/** The request State every route, page and middleware sees, and the typed `define` helpers. */
import type { Config } from "./lib/config.ts";
import type { Sql } from "./lib/db.ts";
import type { Notifier } from "./lib/queue/notify.ts";
import type { EnqueueCoalescer } from "./lib/queue/enqueue_coalescer.ts";
import { createDefine } from "fresh";
import type { OutageLog } from "./lib/http/outage.ts";

/** Per-request state, set before any middleware runs. */
export interface State {
  /** The process's pool. */
  sql: Sql;
  config: Config;
  /** The clock for queue functions: `null` means the database clock (tests pass a fixed one). */
  now: () => Date | null;
  /** Writes single enqueues, concurrent ones in shared statements (group commit); notifies workers. */
  enqueuer: EnqueueCoalescer;
  /** Pokes idle workers after new jobs commit (coalesced). */
  newJobs: Notifier;
  /** Tells live dashboards that jobs changed (coalesced). */
  changed: Notifier;
  /** Logs database outages (start, end, refused requests); 503s for an unavailable database go here. */
  outage: OutageLog;
  /** A random id for this request (in error bodies of 500s and in logs). */
  requestId: string;
  /** CSP nonce for this response's scripts. */
  nonce: string;
  /** The signed-in dashboard user, when a session is required and present. */
  session?: { user: string } | null;
  /** The name of the API token the request authenticated with (audit log). */
  tokenName?: string;
  /** Set by the API's auth step: API_TOKEN is set and the request carries no valid credentials. */
  unauthenticated?: boolean;
}

export const define = createDefine<State>();
