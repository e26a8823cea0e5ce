/**
 * The alert evaluator: every `ALERT_EVAL_SECONDS`, evaluates the alert rules
 * (one process in the cluster at a time: `alerts.evaluate` takes the alert
 * lock without waiting) and POSTs each notice owed to `ALERT_WEBHOOK_URL`:
 * once when a rule starts firing, once when it resolves. A notice is claimed
 * by compare-and-set before it is sent, so two processes never send the same
 * one; a failed or timed-out delivery is released and retried at the next
 * evaluation; a delivered one is recorded and never sent again.
 *
 * The body (JSON): `{alert: {id, name, kind, queue, type, threshold,
 * window_minutes}, state: "firing" | "resolved", value, since, resolved_at,
 * url}`, where `url` is the jobs list filtered to what the rule watches, on
 * `PUBLIC_URL` (else `http://HOST:PORT`).
 */
import type { Sql } from "../../lib/db.ts";
import { log } from "../../lib/log.ts";
import * as alerts from "../../lib/queue/alerts.ts";
import * as notices from "../../lib/queue/alert_notices.ts";
import { alertJobsPath } from "../../lib/alerts/schema.ts";
import type { DbHealth } from "./health.ts";
import { Periodic } from "./periodic.ts";

/** Default of {@link AlertServiceOptions.timeoutMs}: how long one POST may take. */
export const ALERT_WEBHOOK_TIMEOUT_MS = 10_000;

/** Options of {@link AlertService}. */
export interface AlertServiceOptions {
  sql: Sql;
  /** The process's worker id, for log lines. */
  worker: string;
  health?: DbHealth;
  /** Where notices go; unset: rules are evaluated and shown, nothing is sent. */
  webhookUrl?: string | null;
  /** The origin of the links in notices (`PUBLIC_URL`, else `http://HOST:PORT`). */
  publicUrl: string;
  /** Period (ms). */
  intervalMs: number;
  /** One POST's time limit (ms). Default {@link ALERT_WEBHOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** The clock: a fixed instant (tests) or null for the database clock (default). */
  now?: () => Date | null;
  /** Called after each pass (tests). */
  onPass?(pass: AlertPass): void;
}

/** What one pass did. */
export interface AlertPass {
  /** The evaluation (null when it failed). */
  evaluation: alerts.Evaluation | null;
  /** Notices delivered, and notices whose delivery failed (retried next pass). */
  sent: notices.Notice[];
  failed: { notice: notices.Notice; error: string }[];
}

/** The body POSTed for a notice. */
export function noticeBody(n: notices.Notice, publicUrl: string) {
  const a = n.alert;
  return {
    alert: {
      id: a.id,
      name: a.name,
      kind: a.kind,
      queue: a.queue,
      type: a.type,
      threshold: a.threshold,
      window_minutes: a.window_minutes,
    },
    state: n.state,
    value: a.last_value,
    since: n.since?.toISOString() ?? null,
    resolved_at: n.state === "resolved" ? a.resolved_at?.toISOString() ?? null : null,
    url: new URL(alertJobsPath(a), publicUrl).href,
  };
}

/** Evaluates alert rules and sends their notices, periodically. */
export class AlertService {
  #o: AlertServiceOptions;
  #periodic: Periodic;
  #inFlight: Promise<AlertPass> | null = null;

  constructor(opts: AlertServiceOptions) {
    this.#o = opts;
    this.#periodic = new Periodic(async () => void await this.runOnce(), {
      ms: opts.intervalMs,
      runNow: true,
    });
  }

  /** Runs a pass now and every period after. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops; resolves when a pass in flight has finished. */
  async stop(): Promise<void> {
    this.#periodic.stop();
    await this.#inFlight;
  }

  /**
   * One pass: evaluate (unless another process has the turn), then deliver
   * every notice owed (whoever evaluated: the claim decides who sends).
   * Never rejects: database errors go to `health` (or the log).
   */
  runOnce(): Promise<AlertPass> {
    const pass = this.#pass().finally(() => this.#inFlight = null);
    this.#inFlight = pass;
    return pass;
  }

  async #pass(): Promise<AlertPass> {
    const o = this.#o;
    const out: AlertPass = { evaluation: null, sent: [], failed: [] };
    try {
      const now = o.now?.() ?? null;
      out.evaluation = await alerts.evaluate(o.sql, { now });
      for (const tr of out.evaluation.transitions) {
        log(tr.to === "firing" ? "warn" : "info", `alert.${tr.to}`, {
          worker: o.worker,
          alert: tr.alert.id,
          name: tr.alert.name,
          kind: tr.alert.kind,
          value: tr.alert.last_value,
        });
      }
      if (o.webhookUrl) {
        const timeoutMs = o.timeoutMs ?? ALERT_WEBHOOK_TIMEOUT_MS;
        const owed = await notices.claimNotices(o.sql, {
          now,
          leaseSeconds: Math.ceil(timeoutMs / 1000) + 30,
        });
        await Promise.all(owed.map((n) => this.#deliver(n, now, out)));
      }
      o.health?.ok();
    } catch (err) {
      if (o.health) o.health.down(err, "alerts");
      else log("warn", "alerts.pass_failed", { worker: o.worker, error: err });
    }
    o.onPass?.(out);
    return out;
  }

  async #deliver(n: notices.Notice, now: Date | null, out: AlertPass): Promise<void> {
    const o = this.#o;
    let error: string | null = null;
    try {
      const res = await fetch(o.webhookUrl!, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "jobq-alerts" },
        body: JSON.stringify(noticeBody(n, o.publicUrl)),
        signal: AbortSignal.timeout(o.timeoutMs ?? ALERT_WEBHOOK_TIMEOUT_MS),
        redirect: "manual",
      });
      await res.body?.cancel();
      if (!res.ok) error = `the webhook answered ${res.status}`;
    } catch (err) {
      error = (err as Error)?.name === "TimeoutError"
        ? `the webhook did not answer within ${o.timeoutMs ?? ALERT_WEBHOOK_TIMEOUT_MS} ms`
        : `the webhook could not be reached: ${(err as Error)?.message ?? err}`;
    }
    const fields = { worker: o.worker, alert: n.alert.id, name: n.alert.name, state: n.state };
    if (error === null) {
      await notices.delivered(o.sql, { notice: n, now });
      out.sent.push(n);
      log("info", "alert.notified", fields);
    } else {
      await notices.undelivered(o.sql, { notice: n, error });
      out.failed.push({ notice: n, error });
      log("warn", "alert.notify_failed", { ...fields, error });
    }
  }
}
