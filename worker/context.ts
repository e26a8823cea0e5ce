/**
 * The outside world as handlers see it: mail (SMTP or the outbox), the
 * notification webhook, report data and artifact storage. One instance per
 * attempt; transports are cached per runner.
 */
import { isAbsolute, join } from "node:path";
import type { Config } from "../lib/config.ts";
import type { Sql } from "../lib/db.ts";
import { log } from "../lib/log.ts";
import { ROOT } from "../lib/web/paths.ts";
import * as artifacts from "../lib/queue/artifacts.ts";
import * as reports from "../lib/queue/reports.ts";
import type { LeanJob } from "../lib/queue/jobs.ts";
import type { ReportSet, WorkerContext } from "./types.ts";
import { composeEml } from "./eml.ts";

/** Seconds a webhook POST may take before it fails the attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/** What a context needs from its runner. */
export interface ContextDeps {
  sql: Sql;
  config: Pick<Config, "SMTP_URL" | "MAIL_FROM" | "NOTIFY_WEBHOOK_URL" | "DATA_DIR">;
  /** The runner's `locked_by`, for logs. */
  worker: string;
}

/** The outbox folder: `<DATA_DIR>/outbox` (a relative DATA_DIR is under the project root). */
export function outboxDir(dataDir: string): string {
  return join(isAbsolute(dataDir) ? dataDir : join(ROOT, dataDir), "outbox");
}

/** {@link outboxDir} of the last DATA_DIR asked for (a runner has one: no path work per job). */
let outboxCache: { dataDir: string; dir: string } | undefined;
function outboxOf(dataDir: string): string {
  if (outboxCache?.dataDir !== dataDir) outboxCache = { dataDir, dir: outboxDir(dataDir) };
  return outboxCache.dir;
}

/** Folders already created by this thread (skips a mkdir per file). */
const madeDirs = new Set<string>();

/**
 * Writes a file atomically: a temporary file in the same folder, then a
 * rename over the target, so readers see the old file or the whole new one
 * and a re-run replaces rather than duplicates. The calls are synchronous on
 * purpose: a runner's thread does one job at a time, and small writes cost
 * less than a trip through the async I/O pool on a busy machine.
 */
export function writeAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (!madeDirs.has(dir)) {
      Deno.mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    try {
      Deno.writeFileSync(tmp, bytes);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      Deno.mkdirSync(dir, { recursive: true }); // removed since we made it
      Deno.writeFileSync(tmp, bytes);
    }
    Deno.renameSync(tmp, path);
    return Promise.resolve();
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never written */ }
    return Promise.reject(err);
  }
}

// nodemailer is loaded on the first email over SMTP: a runner that never
// sends one (every runner when mail goes to the outbox) does not pay for it.
type Nodemailer = typeof import("nodemailer").default;
let mailer: Promise<Nodemailer> | undefined;
function loadMailer(): Promise<Nodemailer> {
  mailer ??= import("nodemailer").then((m) => m.default);
  return mailer;
}

// deno-lint-ignore no-explicit-any
let smtpTransport: { url: string; transport: any } | undefined;

// deno-lint-ignore no-explicit-any
async function smtp(url: string): Promise<any> {
  const nodemailer = await loadMailer();
  if (smtpTransport?.url !== url) {
    smtpTransport?.transport.close();
    smtpTransport = {
      url,
      transport: nodemailer.createTransport({
        url,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
        // deno-lint-ignore no-explicit-any
      } as any),
    };
  }
  return smtpTransport.transport;
}

/** Closes cached transports (runner shutdown). */
export function closeTransports(): void {
  smtpTransport?.transport.close();
  smtpTransport = undefined;
}

/**
 * The context of one attempt of `job`. `signal` aborts on timeout, cancel,
 * lease loss or forced stop; `progress` stores `ctx.progress` calls (none:
 * they are ignored).
 */
export function createContext(
  deps: ContextDeps,
  job: LeanJob,
  signal: AbortSignal,
  progress?: { report(percent: number, message?: string): void },
): WorkerContext {
  return new Context(deps, job, signal, progress);
}

/**
 * A handler's context: one object per attempt whose methods are made only
 * when a handler first reads them (most handlers use one or two, a no-op
 * none), each bound to its attempt, so that a handler may take them apart
 * (`const { progress } = ctx`) as from a plain object.
 */
class Context implements WorkerContext {
  readonly job: WorkerContext["job"];
  readonly signal: AbortSignal;
  readonly #deps: ContextDeps;
  readonly #lean: LeanJob;
  readonly #progress: { report(percent: number, message?: string): void } | undefined;
  #bound: Partial<Omit<WorkerContext, "job" | "signal">> | undefined;

  constructor(
    deps: ContextDeps,
    job: LeanJob,
    signal: AbortSignal,
    progress: { report(percent: number, message?: string): void } | undefined,
  ) {
    this.#deps = deps;
    this.#lean = job;
    this.#progress = progress;
    this.signal = signal;
    this.job = {
      id: job.id,
      type: job.type,
      attempt: job.attempts,
      max_attempts: job.max_attempts,
      priority: job.priority,
      created_at: (job.created_at instanceof Date ? job.created_at : new Date(job.created_at))
        .toISOString(),
    };
  }

  get progress(): WorkerContext["progress"] {
    return (this.#bound ??= {}).progress ??= (percent, message) =>
      this.#progress?.report(percent, message);
  }

  get sendMail(): WorkerContext["sendMail"] {
    return (this.#bound ??= {}).sendMail ??= (msg) =>
      sendMail(this.#deps, this.#lean, this.signal, msg);
  }

  get postWebhook(): WorkerContext["postWebhook"] {
    return (this.#bound ??= {}).postWebhook ??= (body) =>
      postWebhook(this.#deps, this.#lean, this.signal, body);
  }

  get reportData(): WorkerContext["reportData"] {
    return (this.#bound ??= {}).reportData ??= (q) => reportData(this.#deps.sql, q);
  }

  get reportSet(): WorkerContext["reportSet"] {
    return (this.#bound ??= {}).reportSet ??= (q) => reportSet(this.#deps.sql, this.signal, q);
  }

  get saveArtifact(): WorkerContext["saveArtifact"] {
    return (this.#bound ??= {}).saveArtifact ??= async (file) => {
      await artifacts.put(this.#deps.sql, {
        jobId: this.#lean.id,
        filename: file.filename,
        contentType: file.content_type,
        bytes: file.bytes,
      });
      return { url: `/api/jobs/${this.#lean.id}/artifact`, bytes: file.bytes.length };
    };
  }

  get log(): WorkerContext["log"] {
    return (this.#bound ??= {}).log ??= (msg, fields = {}) => {
      log("info", msg, {
        ...fields,
        job_id: this.#lean.id,
        type: this.#lean.type,
        attempt: this.#lean.attempts,
        worker: this.#deps.worker,
      });
    };
  }
}

/** `ctx.sendMail`. */
async function sendMail(
  deps: ContextDeps,
  job: LeanJob,
  signal: AbortSignal,
  msg: { to: string; subject: string; text: string },
): Promise<{ message_id: string; transport: string; path?: string }> {
  const { config } = deps;
  signal.throwIfAborted();
  // One Message-ID per job: a re-run sends (or writes) the same message again.
  const mail = {
    from: config.MAIL_FROM,
    to: msg.to,
    subject: msg.subject,
    text: msg.text,
    messageId: `<${job.id}@jobq>`,
    headers: { "X-Jobq-Job-Id": job.id, "X-Jobq-Attempt": String(job.attempts) },
  };
  if (config.SMTP_URL) {
    // nodemailer takes the signal: an abort closes the connection carrying the message.
    const info = await (await smtp(config.SMTP_URL)).sendMail({ ...mail, signal });
    return { message_id: String(info.messageId), transport: "smtp" };
  }
  const path = join(outboxOf(config.DATA_DIR), `${job.id}.eml`);
  await writeAtomic(path, composeEml(mail));
  return { message_id: mail.messageId, transport: "outbox", path };
}

/** `ctx.postWebhook`. */
async function postWebhook(
  deps: ContextDeps,
  job: LeanJob,
  signal: AbortSignal,
  body: unknown,
): Promise<{ transport: string; status?: number; path?: string }> {
  const { config } = deps;
  signal.throwIfAborted();
  const json = JSON.stringify(body);
  if (config.NOTIFY_WEBHOOK_URL) {
    const res = await fetch(config.NOTIFY_WEBHOOK_URL, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": job.id,
        "user-agent": "jobq-worker",
      },
      body: json,
      signal: AbortSignal.any([signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
    }).catch((err) => {
      if (err instanceof DOMException && err.name === "TimeoutError") {
        throw new Error(`webhook did not answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`);
      }
      throw new Error(`webhook request failed: ${(err as Error).message}`);
    });
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      throw new Error(
        `webhook answered ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`,
      );
    }
    return { transport: "webhook", status: res.status };
  }
  const path = join(outboxOf(config.DATA_DIR), `${job.id}.json`);
  await writeAtomic(path, new TextEncoder().encode(json + "\n"));
  return { transport: "outbox", path };
}

/** `ctx.reportData`. */
async function reportData(
  sql: Sql,
  q: { report_type: string; from: string; to: string },
): Promise<Record<string, unknown>[]> {
  const r = { from: q.from, to: q.to };
  if (q.report_type === "failures") {
    return (await reports.failures(sql, r)) as unknown as Record<string, unknown>[];
  }
  if (q.report_type === "throughput") {
    return (await reports.throughput(sql, r)) as unknown as Record<string, unknown>[];
  }
  return (await reports.summary(sql, r)) as unknown as Record<string, unknown>[];
}

/** `ctx.reportSet`. */
async function reportSet(
  sql: Sql,
  signal: AbortSignal,
  q: { from: string; to: string },
): Promise<ReportSet> {
  const r = { from: q.from, to: q.to };
  // Each query checks the signal first: a cancelled report stops between them.
  const step = <T>(f: () => Promise<T>) => (signal.throwIfAborted(), f());
  const summary = await step(() => reports.summary(sql, r));
  const failures = await step(() => reports.failures(sql, r));
  const throughput = await step(() => reports.throughput(sql, r));
  const slowest = await step(() => reports.slowest(sql, r));
  const totals = await step(() => reports.totals(sql, r));
  return { summary, failures, throughput, slowest, totals };
}
