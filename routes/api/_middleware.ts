/**
 * Middleware of every `/api` route, outermost first:
 * 1. timing: HTTP request durations for `/metrics` (labels from fixed sets; a
 *    request the auth step found without credentials only counts in a
 *    label-less counter); `nosniff`, `X-Request-Id`
 *    (the id a 500's body and log line carry), `Referrer-Policy: no-referrer`,
 *    `X-Frame-Options: DENY` and a CSP allowing nothing on every answer;
 * 2. auth: with API_TOKEN set, `Authorization: Bearer <token>` (any of the
 *    comma-separated tokens, constant-time) — or a valid dashboard session
 *    cookie, for which unsafe methods must come from the same origin — on
 *    every route but the OpenAPI document; 401 otherwise. Without API_TOKEN the
 *    API is open, but an unsafe request a browser marks as cross-site is 403;
 * 3. body size: a declared Content-Length over the limit is 413 before the
 *    route runs (the routes also cap the bytes they actually read).
 */
import { define } from "../../utils.ts";
import { API_ROUTES } from "../../lib/openapi.ts";
import { recordHttp, recordUnauthenticated } from "../../lib/metrics.ts";
import { jsonError } from "../../lib/http/errors.ts";
import { requestSession, tokenMatches } from "../../lib/http/session.ts";

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

const ROUTE_PATTERNS = API_ROUTES.filter((r) => r.includes(" /api/")).map((r) => {
  const path = r.split(" ")[1];
  const re = new RegExp("^" + path.replace(/\./g, "\\.").replace(/\{[a-z]+\}/g, "[^/]+") + "/?$");
  return { path: path.replace(/\{([a-z]+)\}/g, ":$1"), re };
});

/** The route pattern a path belongs to (`/api/jobs/:id`), or `unmatched`: bounded label values. */
function routeLabel(path: string): string {
  return ROUTE_PATTERNS.find((p) => p.re.test(path))?.path ?? "unmatched";
}

/** True when the browser says (or the Origin shows) the request comes from this origin. */
function sameOrigin(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site === "same-origin") return true;
  if (site && site !== "none") return false;
  const origin = req.headers.get("origin");
  if (!origin) return false;
  try {
    return new URL(origin).host === (req.headers.get("host") ?? new URL(req.url).host);
  } catch {
    return false;
  }
}

/** True when a browser marks the request as coming from another site or origin. */
function crossSite(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") return true;
  const origin = req.headers.get("origin");
  if (!origin || site === "same-origin") return false;
  return !sameOrigin(req);
}

const crossOrigin = () =>
  jsonError(403, "cross_origin_request", "unsafe requests must come from this origin");

const timing = define.middleware(async (ctx) => {
  const started = performance.now();
  const res = await ctx.next();
  if (ctx.state.unauthenticated) recordUnauthenticated();
  else {
    const seconds = (performance.now() - started) / 1000;
    recordHttp(ctx.req.method, routeLabel(ctx.url.pathname), res.status, seconds);
  }
  try {
    res.headers.set("x-content-type-options", "nosniff");
    res.headers.set("x-request-id", ctx.state.requestId);
    // JSON is never a document: nothing may load from it, frame it or learn its URL.
    res.headers.set("referrer-policy", "no-referrer");
    res.headers.set("x-frame-options", "DENY");
    if (!res.headers.has("content-security-policy")) {
      res.headers.set("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
    }
  } catch {
    // immutable headers (a proxied response): leave them
  }
  return res;
});

const auth = define.middleware(async (ctx) => {
  const { config } = ctx.state;
  const unsafe = UNSAFE.has(ctx.req.method);
  if (!config.API_TOKEN) {
    if (unsafe && crossSite(ctx.req)) return crossOrigin();
    return await ctx.next();
  }
  const header = ctx.req.headers.get("authorization") ?? "";
  const bearer = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header)?.[1];
  if (bearer && tokenMatches(config.API_TOKEN, bearer)) return await ctx.next();
  const session = await requestSession(ctx.req, config);
  if (session) {
    if (unsafe && !sameOrigin(ctx.req)) return crossOrigin();
    ctx.state.session = session;
    return await ctx.next();
  }
  ctx.state.unauthenticated = true;
  if (ctx.url.pathname === "/api/openapi.json") return await ctx.next();
  return jsonError(
    401,
    "unauthorized",
    header ? "the bearer token is not valid" : "send Authorization: Bearer <API_TOKEN>",
    { headers: { "www-authenticate": 'Bearer realm="jobq"' } },
  );
});

const bodySize = define.middleware(async (ctx) => {
  if (UNSAFE.has(ctx.req.method)) {
    const limit = ctx.url.pathname === "/api/jobs/batch"
      ? ctx.state.config.BATCH_BODY_LIMIT_BYTES
      : ctx.state.config.BODY_LIMIT_BYTES;
    const declared = Number(ctx.req.headers.get("content-length") ?? "0");
    if (Number.isFinite(declared) && declared > limit) {
      return jsonError(413, "payload_too_large", `the request body is larger than ${limit} bytes`);
    }
  }
  return await ctx.next();
});

export const handler = [timing, auth, bodySize];
