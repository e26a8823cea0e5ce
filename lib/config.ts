/**
 * Configuration: every environment variable the project reads, validated once
 * with zod and frozen. A bad value stops the process with one line naming the
 * variable and what it expected.
 */
import { z } from "zod";
import { HOSTNAME } from "./http/host_check.ts";
import { QUEUE_NAME_RE } from "./job_constants.ts";

/** One API_TOKEN entry: an optional `name:` and an RFC 6750 bearer token. */
const TOKEN_ENTRY = String.raw`(?:[A-Za-z0-9_.-]{1,64}:)?[\w.~+/-]+=*`;
const TOKENS =
  "expected bearer tokens (letters, digits, -._~+/ and a trailing =), each optionally named (name:token), comma-separated";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number).pipe(z.number().int().min(min).max(max));
const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `expected a URL starting with ${protocols.map((p) => p + "//").join(" or ")}`);

const DAY_MS = 86_400_000;
/** An age like 7d, 12h or 90m, or 0 (keep forever); {@link ageMs} reads it. */
const retention = z.string()
  .regex(/^(0|[1-9]\d{0,5}[dhm])$/, "expected an age like 7d, 12h or 90m, or 0 to keep forever");

/** Milliseconds of an age like 7d, 12h or 90m; "0" is 0. */
export function ageMs(age: string): number {
  if (age === "0") return 0;
  return Number(age.slice(0, -1)) * { d: DAY_MS, h: 3_600_000, m: 60_000 }[age.slice(-1) as "d"];
}

/** The schema of the environment; keys are the variable names. Defaults as in `.env.example`. */
export const ENV_SCHEMA = z.object({
  DATABASE_URL: url(["postgres:", "postgresql:"]).optional(),
  // A direct session (not a transaction pooler) for LISTEN; unset: DATABASE_URL.
  DATABASE_LISTEN_URL: url(["postgres:", "postgresql:"]).optional(),
  // Named prepared statements; false behind a transaction-mode pooler (PgBouncer before 1.21).
  DATABASE_PREPARE: bool.default(true),
  DATABASE_SOCKET: z.enum(["deno", "node"]).default("deno"),
  DB_WAIT_SECONDS: int(1, 600).default(3),
  PORT: int(0, 65535).default(8000),
  HOST: z.string().min(1, "expected a host name or address").default("127.0.0.1"),
  PUBLIC_URL: url(["http:", "https:"]).optional(),
  ALLOWED_HOSTS: z.string()
    .transform((v) => v.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(HOSTNAME, "expected host names without ports, comma-separated")))
    .optional(),
  WORKER_CONCURRENCY: int(1, 256).default(4),
  WORKER_JOBS_PER_RUNNER: int(1, 64).default(1),
  WORKER_QUEUES: z.string()
    .transform((v) => [...new Set(v.split(",").map((q) => q.trim()).filter(Boolean))])
    .pipe(
      z.array(
        z.string().regex(
          QUEUE_NAME_RE,
          "expected queue names (a-z first, then a-z, 0-9, _ or -; at most 63), comma-separated",
        ),
      ).min(1, "expected at least one queue name"),
    )
    .optional(),
  JOB_LEASE_SECONDS: int(2, 86400).default(30),
  RETRY_BASE_MS: int(1, 86_400_000).default(1000),
  RETRY_MAX_MS: int(1, 604_800_000).default(3_600_000),
  SHUTDOWN_GRACE_SECONDS: int(0, 3600).default(25),
  CANCEL_GRACE_SECONDS: int(0, 3600).default(5),
  // Bearer tokens (RFC 6750's syntax, which hono/bearer-auth accepts), comma-separated,
  // each optionally named for the audit log: `ci:s3cret,deploy:0ther`.
  API_TOKEN: z.string().min(1)
    .regex(new RegExp(`^\\s*${TOKEN_ENTRY}\\s*(?:,\\s*${TOKEN_ENTRY}\\s*)*$`), TOKENS).optional(),
  DASHBOARD_PASSWORD: z.string().min(1).optional(),
  SESSION_SECRET: z.string().min(16, "expected at least 16 characters").optional(),
  ALLOW_UNAUTHENTICATED: bool.default(false),
  SMTP_URL: url(["smtp:", "smtps:"]).optional(),
  MAIL_FROM: z.string().min(3).default("jobq <jobq@localhost>"),
  NOTIFY_WEBHOOK_URL: url(["http:", "https:"]).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  DATA_DIR: z.string().min(1).default(".data"),
  EMBEDDED_PG_PORT: int(1, 65535).optional(),
  WORKER_METRICS_PORT: int(1, 65535).optional(),
  SCHEDULES_FILE: z.string().min(1, "expected a file path").default("schedules.json"),
  // Retention of finished jobs per state (ms; 0 = forever), pruned by the worker processes.
  RETAIN_COMPLETED: retention.default("7d"),
  RETAIN_FAILED: retention.default("30d"),
  RETAIN_CANCELLED: retention.default("7d"),
  // Retention of the audit log's entries (ms; 0 = forever), pruned by the worker processes.
  RETAIN_AUDIT: retention.default("90d"),
  // Alert notices (firing, resolved) are POSTed here as JSON; unset: alerts only show on the dashboard.
  ALERT_WEBHOOK_URL: url(["http:", "https:"]).optional(),
  ALERT_EVAL_SECONDS: int(1, 3600).default(30),
  BODY_LIMIT_BYTES: int(1024, 1 << 30).default(1 << 20),
  BATCH_BODY_LIMIT_BYTES: int(1024, 1 << 30).default(8 << 20),
});

/** The validated configuration. */
export type Config = Readonly<z.output<typeof ENV_SCHEMA>>;

/** Names of every variable the project reads (the keys of {@link ENV_SCHEMA}). */
export const ENV_NAMES = Object.keys(ENV_SCHEMA.shape) as (keyof Config)[];

/** A configuration problem: `message` is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses an environment record. Empty strings count as unset. Throws
 * {@link ConfigError} naming the first bad variable and what it expected.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {};
  for (const name of ENV_NAMES) {
    const value = env[name];
    if (value !== undefined && value !== "") input[name] = value;
  }
  const parsed = ENV_SCHEMA.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ConfigError(`${name}: ${issue.message} (got ${JSON.stringify(input[name])})`);
  }
  const config = parsed.data;
  if (config.RETRY_MAX_MS < config.RETRY_BASE_MS) {
    throw new ConfigError("RETRY_MAX_MS: expected a value at least RETRY_BASE_MS");
  }
  if (!isLoopback(config.HOST) && !config.ALLOW_UNAUTHENTICATED) {
    if (!config.API_TOKEN || !config.DASHBOARD_PASSWORD) {
      throw new ConfigError(
        `HOST: listening on ${config.HOST} (beyond loopback) needs API_TOKEN and DASHBOARD_PASSWORD set, ` +
          "or ALLOW_UNAUTHENTICATED=true",
      );
    }
  }
  return Object.freeze(config);
}

/**
 * True for addresses only this machine can reach: `localhost`, `::1` and the
 * IPv4 literals 127.0.0.0/8. A name that merely starts with "127."
 * (`127.0.0.1.nip.io`) is a DNS name like any other and can point anywhere.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "[::1]") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

/** Addresses that mean "every interface", not one a client can be sent to. */
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);

const allowedCache = new WeakMap<Config, ReadonlySet<string>>();

/**
 * The host names (lower case, no port) requests may be addressed to, so a
 * page on another name that resolves here (DNS rebinding) is refused:
 * `localhost`, `127.0.0.1` and `[::1]`; `HOST` unless it is an any-address
 * (0.0.0.0, ::); the host of `PUBLIC_URL`; every `ALLOWED_HOSTS` entry.
 * Ports are not compared: a browser connects to the port its URL names, so a
 * rebinding page shares the server's port anyway, and port mappings (a
 * container's 8000 published as the host's 8080) keep working.
 */
export function allowedHosts(config: Config): ReadonlySet<string> {
  let hosts = allowedCache.get(config);
  if (!hosts) {
    const set = new Set(["localhost", "127.0.0.1", "[::1]"]);
    const listen = config.HOST.toLowerCase();
    if (!ANY_ADDRESS.has(listen)) {
      set.add(listen.includes(":") && !listen.startsWith("[") ? `[${listen}]` : listen);
    }
    if (config.PUBLIC_URL) set.add(new URL(config.PUBLIC_URL).hostname);
    for (const h of config.ALLOWED_HOSTS ?? []) set.add(h);
    hosts = set;
    allowedCache.set(config, hosts);
  }
  return hosts;
}

let cached: Config | undefined;

/**
 * The process configuration, read from `Deno.env` on first call. On a bad
 * value it prints one line to stderr and exits with status 78 (config error).
 */
export function loadConfig(): Config {
  if (cached) return cached;
  try {
    cached = parseConfig(Deno.env.toObject());
    return cached;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`config error: ${err.message}`);
      Deno.exit(78);
    }
    throw err;
  }
}

/** How long finished jobs are kept per state (ms; 0 = forever), from the RETAIN_* variables. */
export function retentionOf(
  config: Config,
): { completed: number; failed: number; cancelled: number } {
  return {
    completed: ageMs(config.RETAIN_COMPLETED),
    failed: ageMs(config.RETAIN_FAILED),
    cancelled: ageMs(config.RETAIN_CANCELLED),
  };
}

/** An age in words: "7 days", "12 hours", "90 minutes", "1 day"; 0 is "forever". */
export function describeAge(ms: number): string {
  if (ms === 0) return "forever";
  const [n, unit] = ms % DAY_MS === 0
    ? [ms / DAY_MS, "day"]
    : ms % 3_600_000 === 0
    ? [ms / 3_600_000, "hour"]
    : [Math.round(ms / 60_000), "minute"];
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** The retention in one sentence: "Completed jobs are kept 7 days, failed 30 days, cancelled 7 days." */
export function describeRetention(config: Config): string {
  const r = retentionOf(config);
  return `Completed jobs are kept ${describeAge(r.completed)}, failed ${
    describeAge(r.failed)
  }, cancelled ${describeAge(r.cancelled)}.`;
}

/**
 * The origin links in messages sent elsewhere point at (alert notices):
 * `PUBLIC_URL`, else `http://HOST:PORT` (an any-address HOST as localhost).
 */
export function publicOrigin(config: Pick<Config, "PUBLIC_URL" | "HOST" | "PORT">): string {
  if (config.PUBLIC_URL) return config.PUBLIC_URL;
  const h = ANY_ADDRESS.has(config.HOST) ? "localhost" : config.HOST;
  return `http://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${config.PORT}`;
}

/** A bearer token and the name the audit log knows it by. */
export interface ApiToken {
  name: string;
  token: string;
}

/**
 * The tokens of API_TOKEN with their names: `name:token` entries keep their
 * name; an unnamed one is `token-N` by its position (1-based).
 */
export function apiTokens(config: Pick<Config, "API_TOKEN">): ApiToken[] {
  const entries = (config.API_TOKEN ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return entries.map((entry, i) => {
    const colon = entry.indexOf(":");
    return colon < 0
      ? { name: `token-${i + 1}`, token: entry }
      : { name: entry.slice(0, colon), token: entry.slice(colon + 1) };
  });
}
