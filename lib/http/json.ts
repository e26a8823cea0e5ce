/**
 * JSON in and out for `/api`: reading a request body with every check the API
 * promises (415 before parsing, 413 over the limit, 400 malformed or too deeply
 * nested, 422 for strings Postgres cannot store), and the JSON response helper.
 */
import { z } from "zod";
import { hasUnstorableChars } from "../jobs/common.ts";
import { HttpError } from "./errors.ts";

/** Strict UTF-8 (one decoder for every body: without `stream` it keeps no state between calls). */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Deepest nesting of arrays and objects a body may have. */
export const MAX_JSON_DEPTH = 32;

/** Options of {@link readJson}. */
export interface ReadJsonOptions {
  /** Largest body in bytes (413 beyond it). */
  limit: number;
  /**
   * When true, a request without a body (no bytes, no JSON content type needed)
   * yields `undefined` instead of a 400.
   */
  optional?: boolean;
}

/** True for `application/json` (any parameters, charset utf-8 when given). */
export function isJsonContentType(header: string | null): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(";").map((s) => s.trim().toLowerCase());
  if (type !== "application/json") return false;
  for (const p of params) {
    const [k, v] = p.split("=").map((s) => s.trim().replace(/^"|"$/g, ""));
    if (k === "charset" && v !== "utf-8" && v !== "utf8") return false;
  }
  return true;
}

/**
 * Reads the request body as JSON. In order: 415 when a body (or a content
 * type) is present and is not `application/json`; 413 when the declared or
 * actual size exceeds `limit` (the stream is cut off there, never buffered
 * whole); 400 for an empty required body, invalid UTF-8, nesting deeper than
 * {@link MAX_JSON_DEPTH} or malformed JSON; 422 (with each path) for NUL
 * bytes, lone surrogates or non-finite numbers anywhere, keys included.
 * Returns the parsed value, or `undefined` for an absent optional body.
 */
export async function readJson(req: Request, opts: ReadJsonOptions): Promise<unknown> {
  const contentType = req.headers.get("content-type");
  const declared = req.headers.get("content-length");
  const declaredLength = declared === null ? null : Number(declared);
  if (contentType !== null && !isJsonContentType(contentType)) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      `expected Content-Type: application/json, got ${contentType.slice(0, 100)}`,
    );
  }
  if (contentType === null && declaredLength !== null && declaredLength > 0) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "expected Content-Type: application/json for a request with a body",
    );
  }
  if (declaredLength !== null && Number.isFinite(declaredLength) && declaredLength > opts.limit) {
    throw tooLarge(opts.limit);
  }
  // A declared length within the limit is what the connection delivers (HTTP framing checks
  // it): the body is taken whole, with no stream reader of its own.
  const bytes = declaredLength !== null && Number.isInteger(declaredLength) &&
      declaredLength >= 0 && !req.headers.has("transfer-encoding")
    ? await req.bytes()
    : await readCapped(req, opts.limit);
  if (bytes.length > opts.limit) throw tooLarge(opts.limit); // a length declared wrongly in-process
  if (bytes.length === 0) {
    if (opts.optional) return undefined;
    throw new HttpError(400, "malformed_json", "the request body is empty; expected a JSON object");
  }
  if (contentType === null) {
    throw new HttpError(
      415,
      "unsupported_media_type",
      "expected Content-Type: application/json for a request with a body",
    );
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new HttpError(400, "malformed_json", "the request body is not valid UTF-8");
  }
  if (opts.optional && text.trim() === "") return undefined;
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new HttpError(
      400,
      "too_deeply_nested",
      `the request body nests arrays/objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      "malformed_json",
      `the request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`,
    );
  }
  const issues = unstorable(value);
  if (issues.length) {
    throw new HttpError(422, "validation_failed", "the request has invalid fields", issues);
  }
  return value;
}

/**
 * Parses `value` with `schema`; a failure throws the `ZodError`, which the
 * web layer turns into a 422 with every issue.
 */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  return schema.parse(value);
}

/** A JSON response (`application/json; charset=utf-8`, not cached). */
export function json(
  data: unknown,
  init: { status?: number; headers?: HeadersInit } = {},
): Response {
  const status = init.status ?? 200;
  const text = JSON.stringify(withIsoDates(data));
  if (isLowerCaseRecord(init.headers)) {
    // The usual case (no headers, or a few lower-case names such as `location`): one
    // header record, no Headers object to build and look up.
    return new Response(text, {
      status,
      headers: {
        "cache-control": "no-store",
        ...init.headers,
        "content-type": "application/json; charset=utf-8",
      },
    });
  }
  const headers = new Headers(init.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
  return new Response(text, { status, headers });
}

let lastMs = NaN;
let lastIso = "";

/** `Date.prototype.toJSON`, remembering the last instant: a batch's rows share their timestamps. */
function isoOf(d: Date): string | null {
  const ms = d.getTime();
  if (Number.isNaN(ms)) return null;
  if (ms !== lastMs) [lastMs, lastIso] = [ms, d.toISOString()];
  return lastIso;
}

/**
 * A plain object with `Date` values (a job row) as a copy holding their JSON
 * strings, else `value` itself: the same JSON text, but `JSON.stringify` takes
 * its fast path for objects without `toJSON` methods (about 4 µs less per row).
 */
export function withIsoDates(value: unknown): unknown {
  if (
    value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return value;
  }
  let copy: Record<string, unknown> | undefined;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (v instanceof Date) (copy ??= { ...value })[k] = isoOf(v);
  }
  return copy ?? value;
}

/** `undefined`, or a plain object whose header names are all lower-case (so spreading it cannot repeat a name). */
function isLowerCaseRecord(h: HeadersInit | undefined): h is Record<string, string> | undefined {
  if (h === undefined) return true;
  if (typeof h !== "object" || Array.isArray(h) || h instanceof Headers) return false;
  for (const k in h) if (k !== k.toLowerCase()) return false;
  return true;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(
    413,
    "payload_too_large",
    `the request body is larger than ${limit} bytes`,
  );
}

async function readCapped(req: Request, limit: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The deepest nesting of `[`/`{` in JSON text (strings skipped), computed
 * without recursion so hostile input cannot exhaust the stack.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return max;
}

/** Paths of strings Postgres cannot store and of numbers JSON cannot carry (at most 20). */
function unstorable(value: unknown): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: [] }];
  while (stack.length && out.length < 20) {
    const { v, path } = stack.pop()!;
    if (typeof v === "string") {
      if (hasUnstorableChars(v)) {
        out.push({
          path: path.join("."),
          message: "contains a NUL byte or a lone surrogate, which cannot be stored",
        });
      }
    } else if (typeof v === "number") {
      if (!Number.isFinite(v)) {
        out.push({ path: path.join("."), message: "number is out of range" });
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: [...path, String(i)] }));
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (hasUnstorableChars(k)) {
          out.push({
            // deno-lint-ignore no-control-regex
            path: [...path, k.replace(/[\u0000\uD800-\uDFFF]/g, "\uFFFD")].join("."),
            message: "key contains a NUL byte or a lone surrogate, which cannot be stored",
          });
        }
        stack.push({ v: x, path: [...path, k] });
      }
    }
  }
  return out;
}
