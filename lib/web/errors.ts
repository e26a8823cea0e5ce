/**
 * HTTP errors and the mapping of every error to a response. `lib/queue` and
 * `lib/jobs` throw plain typed errors; only this module knows their status.
 */
import { z } from "zod";
import { type FieldIssue, fieldIssues } from "../jobs/mod.ts";
import { ConflictError, NotFoundError } from "../queue/types.ts";
import { isDatabaseUnavailable } from "../db.ts";

/** An error with an HTTP status, a stable `code` and optional field issues. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    public readonly status: number,
    public readonly code: string,
    message?: string,
    public readonly issues?: FieldIssue[],
    public readonly headers?: HeadersInit,
  ) {
    super(message ?? code.replaceAll("_", " "));
  }
}

/** The JSON envelope every `/api` error has. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: FieldIssue[]; request_id?: string };
}

/** Status, code, message and issues for any thrown value (500 for the unexpected). */
export function describeError(
  err: unknown,
): {
  status: number;
  code: string;
  message: string;
  issues?: FieldIssue[];
  expected: boolean;
  headers?: HeadersInit;
} {
  if (err instanceof HttpError) {
    return {
      status: err.status,
      code: err.code,
      message: err.message,
      issues: err.issues,
      expected: true,
      headers: err.headers,
    };
  }
  if (err instanceof z.ZodError) {
    return {
      status: 422,
      code: "validation_failed",
      message: "the request has invalid fields",
      issues: fieldIssues(err),
      expected: true,
    };
  }
  if (err instanceof NotFoundError) {
    return { status: 404, code: err.code, message: err.message, expected: true };
  }
  if (err instanceof ConflictError) {
    return { status: 409, code: err.code, message: err.message, expected: true };
  }
  const pgCode = (err as { code?: unknown })?.code;
  if (pgCode === "22021" || pgCode === "22P05") {
    // Text the database cannot store (a NUL character, a \u0000 escape in JSON).
    return {
      status: 400,
      code: "invalid_text",
      message: "the request contains a character the database cannot store (NUL)",
      expected: true,
    };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      status: 503,
      code: "database_unavailable",
      message: "the database is not reachable; try again shortly",
      expected: true,
      headers: { "retry-after": "2" },
    };
  }
  return {
    status: 500,
    code: "internal_error",
    message: "something went wrong on our side",
    expected: false,
  };
}

/** A JSON error response in the `/api` envelope. */
export function jsonError(
  status: number,
  code: string,
  message: string,
  extra: { issues?: FieldIssue[]; requestId?: string; headers?: HeadersInit } = {},
): Response {
  const body: ErrorBody = { error: { code, message } };
  if (extra.issues?.length) body.error.issues = extra.issues;
  if (extra.requestId) body.error.request_id = extra.requestId;
  const headers = new Headers(extra.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * An error answered before any route runs (a refused Host, an unroutable
 * path): the `/api` JSON envelope when `api`, else plain text; either way
 * with the headers of a response that is never a document (nosniff, no
 * framing, no referrer, a CSP allowing nothing, not cached).
 */
export function earlyError(
  status: number,
  code: string,
  message: string,
  api: boolean,
): Response {
  const res = api ? jsonError(status, code, message) : new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
  const h = res.headers;
  h.set("x-content-type-options", "nosniff");
  h.set("x-frame-options", "DENY");
  h.set("referrer-policy", "no-referrer");
  h.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  h.set("cache-control", "no-store");
  return res;
}
