/**
 * How a supervisor ends: undoing a failed start ({@link abandon}), the
 * graceful stop of every service ({@link shutdown}), and the stop signals
 * that ask for one ({@link handleSignals}).
 */
import { log } from "../lib/log.ts";
import { onStopSignals } from "../lib/stop_signals.ts";
import { delay } from "./retry.ts";
import type { Services } from "./supervisor.ts";
import type { Resolved } from "./supervisor_options.ts";

/** Stops what a failed start had started, and rethrows nothing. */
export async function abandon(s: Services): Promise<void> {
  s.pool.terminate();
  await s.server?.stop();
  await s.listener.stop();
  await s.heartbeat.unregister().catch(() => {});
  await s.marks.close();
  await s.sql.end({ timeout: 1 }).catch(() => {});
}

/**
 * Graceful stop: the runners finish (or, after the grace period, are
 * terminated and their jobs given back), then every service stops, the
 * worker row goes, and the pool closes.
 */
export async function shutdown(
  s: Services,
  o: Resolved,
  state: { closed: boolean },
): Promise<void> {
  const runners = s.pool.stop(o.graceMs);
  s.heartbeat.stopping();
  await runners;
  state.closed = true;
  s.pool.close();
  await s.marks.close();
  s.leases.stop();
  s.heartbeat.stop();
  s.rescuer.stop();
  s.expirer.stop();
  s.searchIndexer.stop();
  await s.scheduler.stop();
  await s.alerter.stop();
  const serverDone = s.server?.stop();
  await s.pruner.stop();
  await s.listener.stop();
  await s.heartbeat.unregister();
  const bound = new AbortController();
  await Promise.race([
    Promise.all([s.changed.close(), s.newJobs.close()]),
    delay(2000, bound.signal),
  ]);
  bound.abort();
  await serverDone;
  await s.sql.end({ timeout: 2 }).catch(() => {});
}

/**
 * The first SIGINT/SIGTERM stops gracefully; one more than a second later
 * exits at once (the held jobs come back when their lease expires). The same
 * signal twice, from the process group and from `deno task` forwarding it, is
 * one request (lib/stop_signals.ts). Returns the function that removes the
 * handlers.
 */
export function handleSignals(id: string, stop: () => Promise<void>): () => void {
  return onStopSignals({
    stop(signal) {
      log("info", "worker.signal", { worker: id, signal });
      stop();
    },
    force(signal) {
      log("warn", "worker.exit_now", {
        worker: id,
        signal,
        reason: "second signal; held jobs come back when their lease expires",
      });
      Deno.exit(130);
    },
  });
}
