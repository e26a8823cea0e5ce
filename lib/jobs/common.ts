/**
 * Shared pieces of job-type modules: safe text fields, form metadata and the
 * context a handler receives. Browser-safe: no Deno APIs, no side effects.
 */
import { z } from "zod";
import { hasUnstorableChars } from "./storable.ts";

export { hasUnstorableChars };

/** A string of `min`–`max` characters without NUL bytes or lone surrogates. */
export function text(opts: { min?: number; max: number; label: string }) {
  const min = opts.min ?? 1;
  return z.string({ error: `${opts.label} must be text` })
    .min(
      min,
      min === 1 ? `${opts.label} is required` : `${opts.label} needs at least ${min} characters`,
    )
    .max(opts.max, `${opts.label} must be at most ${opts.max} characters`)
    .refine(
      (s) => !hasUnstorableChars(s),
      `${opts.label} contains a NUL byte or an invalid character`,
    );
}

/** Any JSON value without unstorable strings anywhere (for results and free payloads). */
export function isStorableJson(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (typeof value === "string") return !hasUnstorableChars(value);
  if (value === null || typeof value === "number" || typeof value === "boolean") {
    return typeof value !== "number" || Number.isFinite(value);
  }
  if (Array.isArray(value)) return value.every((v) => isStorableJson(v, depth + 1));
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).every(([k, v]) =>
      !hasUnstorableChars(k) && isStorableJson(v, depth + 1)
    );
  }
  return false;
}

/** How the create form renders one payload field (name is dotted for nested fields). */
export interface FormField {
  name: string;
  label: string;
  kind: "text" | "email" | "textarea" | "select" | "date";
  options?: readonly string[];
  placeholder?: string;
  help?: string;
}

/** What the worker gives a handler: the outside world, reached only through here. */
export interface JobContext {
  job: {
    id: string;
    type: string;
    attempt: number;
    max_attempts: number;
    priority: number;
    created_at: string;
  };
  /** Aborted when the job times out, is cancelled, loses its lease or the worker stops. */
  signal: AbortSignal;
  /**
   * Reports how far the job is (0–100) with an optional message: stored on
   * the job as `progress` (a few writes a second at most, the last value
   * always), shown live on the dashboard. Never waits; throws TypeError on a
   * percent that is not a finite number.
   */
  progress(percent: number, message?: string): void;
  /** Sends a complete mail (SMTP when configured, else the outbox); returns where it went. */
  sendMail(
    msg: { to: string; subject: string; text: string },
  ): Promise<{ message_id: string; transport: string; path?: string }>;
  /** POSTs JSON to the notification webhook, or the outbox when none is set. */
  postWebhook(body: unknown): Promise<{ transport: string; status?: number; path?: string }>;
  /** Rows for a report over jobs created in [from, to] (ISO dates, inclusive). */
  reportData(
    q: { report_type: string; from: string; to: string },
  ): Promise<Record<string, unknown>[]>;
  /** Stores a file made by this job; returns the link that downloads it. */
  saveArtifact(
    file: { filename: string; content_type: string; bytes: Uint8Array },
  ): Promise<{ url: string; bytes: number }>;
  log(msg: string, fields?: Record<string, unknown>): void;
}

/** A job type: its payload schema, form, timeout and handler. */
export interface JobType<P = unknown> {
  name: string;
  label: string;
  description: string;
  schema: z.ZodType<P>;
  fields: readonly FormField[];
  /** Seconds one attempt may run before it fails with "timed out". */
  timeoutSeconds: number;
  /** The queue a job of this type joins when it names none (else `default`). */
  queue?: string;
  /** An example payload (docs, seed, clone-as-new). */
  example: P;
  /** Runs one attempt; the value returned (JSON) is the job's result. Throws to fail. */
  handler?: (payload: P, ctx: JobContext) => Promise<unknown>;
}

export { PermanentError } from "./errors.ts";
