/**
 * The app's HTTP errors and the mapping of every error to a response.
 * `lib/queue` and `lib/jobs` throw plain typed errors; only this module knows
 * their status. Pages answer with the `_error` page, `/api` with the JSON
 * envelope ({@link answerError} is the web layer's `onError`).
 */
import { z } from "zod";
import { type Context, HttpError as FreshHttpError } from "fresh";
import { type FieldIssue, fieldIssues } from "../jobs/mod.ts";
import { ConflictError, NotFoundError } from "../queue/types.ts";
import { isDatabaseUnavailable } from "../db.ts";
import { log } from "../log.ts";

/** An `HttpError` with a stable `code`, optional field issues and response headers. */
export class HttpError extends FreshHttpError {
  constructor(
    status: number,
    public readonly code: string,
    message?: string,
    public readonly issues?: FieldIssue[],
    public readonly headers?: HeadersInit,
  ) {
    super(status, message ?? code.replaceAll("_", " "));
  }
}

/** Codes of the errors the web layer itself answers (no route, wrong method, …). */
const CODES: Record<number, string> = {
  400: "bad_request",
  404: "not_found",
  405: "method_not_allowed",
};

/** True for paths answered with JSON errors. */
export function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

/**
 * The path of a request's URL (`Request.url`, already serialised by the URL
 * parser, so the same as `new URL(url).pathname`) without parsing it.
 */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  const end = q === -1 ? (h === -1 ? url.length : h) : h === -1 ? q : Math.min(q, h);
  return url.slice(start, end);
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
  if (err instanceof FreshHttpError) {
    const code = CODES[err.status] ?? "http_error";
    return { status: err.status, code, message: err.message, expected: true };
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

/** Any thrown value as an {@link HttpError} (500 "internal_error" for the unexpected). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const d = describeError(err);
  return new HttpError(d.status, d.code, d.message, d.issues, d.headers);
}

/**
 * The web layer's `onError`: logs the unexpected (`ctx.error`) and tells the
 * outage log of refusals; answers `/api` with the JSON envelope (the request
 * id only for the unexpected), leaving pages to the `_error` page.
 */
export function answerError(
  ctx: Context<{ requestId: string; outage: { refused(): void } }>,
  error: FreshHttpError,
): Response | null {
  const e = toHttpError(error);
  const expected = describeError(ctx.error ?? error).expected;
  if (e.code === "database_unavailable") ctx.state.outage.refused();
  const { requestId } = ctx.state;
  if (!expected) {
    log("error", "http.unhandled", {
      request_id: requestId,
      method: ctx.req.method,
      path: ctx.url.pathname,
      error: ctx.error,
      stack: (ctx.error as Error)?.stack,
    });
  }
  if (!isApi(ctx.url.pathname)) return null;
  return jsonError(e.status, e.code, e.message, {
    issues: e.issues,
    requestId: expected ? undefined : requestId,
    headers: e.headers,
  });
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
