/**
 * The middleware of every `/api` request, on Hono's own, outermost first
 * (after the Host check and `hono/request-id`, which gives each request the
 * well-formed `X-Request-Id` it sent, else a random UUID, and answers it):
 * 1. timing: HTTP request durations for `/metrics`, labelled with the matched
 *    route (`routePath`) when it is one of the API's routes, else `unmatched`
 *    (bounded label values; a request the auth step found without
 *    credentials only counts in a label-less counter); and the headers of an
 *    answer that is never a document (`hono/secure-headers`: nosniff,
 *    `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, a CSP allowing
 *    nothing unless the route set one);
 * 2. auth: with API_TOKEN set, `Authorization: Bearer <token>`
 *    (`hono/bearer-auth`, any of the comma-separated tokens; the matched
 *    token's name goes to `state.tokenName` for the audit log) — or a valid
 *    dashboard session cookie, for which unsafe methods must come from this
 *    origin — on every route but the OpenAPI document; 401 otherwise. Without
 *    API_TOKEN the API is open, but an unsafe request a browser marks as
 *    cross-site is 403 (the same rule as the pages', `same_origin.ts`);
 * 3. body size (`hono/body-limit`): a body over the limit is 413 before the
 *    route runs (the routes also cap the bytes they actually read).
 */
import type { Context as HonoContext, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { apiTokens, type Config } from "../config.ts";
import { API_ROUTES } from "../openapi.ts";
import { recordHttp, recordUnauthenticated } from "../metrics.ts";
import type { State } from "../../utils.ts";
import { jsonError } from "./errors.ts";
import { requestSession } from "./session.ts";
import { crossSite, sameOrigin } from "./same_origin.ts";
import { HEADERS_NOT_SENT } from "./page_middleware.ts";

type Env = { Variables: { state: State } };
type C = HonoContext<Env>;

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const OPENAPI = "/api/openapi.json";

/** The API's route patterns (`/api/jobs/:id`): the only route label values besides `unmatched`. */
const ROUTE_LABELS = new Set(
  API_ROUTES.filter((r) => r.includes(" /api/")).map((r) =>
    r.split(" ")[1].replace(/\{([a-z]+)\}/g, ":$1")
  ),
);

/** The matched API route pattern, or `unmatched`. */
function routeLabel(c: C): string {
  const path = routePath(c, -1);
  return ROUTE_LABELS.has(path) ? path : "unmatched";
}

const crossOrigin = () =>
  jsonError(403, "cross_origin_request", "unsafe requests must come from this origin");

const apiHeaders = secureHeaders({
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  referrerPolicy: "no-referrer",
  xFrameOptions: "DENY",
  crossOriginOpenerPolicy: false,
  ...HEADERS_NOT_SENT,
});

const timing: MiddlewareHandler<Env> = async (c, next) => {
  const started = performance.now();
  await next();
  // hono/request-id's header is lost when a route answers with its own Response: set it again,
  // on the answer's own headers (`c.header` would copy the whole Response first).
  const id = c.get("state").requestId;
  try {
    c.res.headers.set("x-request-id", id);
  } catch {
    c.header("x-request-id", id); // immutable headers (a proxied answer): a copy then
  }
  if (c.get("state").unauthenticated) recordUnauthenticated();
  else recordHttp(c.req.method, routeLabel(c), c.res.status, (performance.now() - started) / 1000);
};

function auth(config: Config): MiddlewareHandler<Env> {
  if (!config.API_TOKEN) {
    return async (c, next) => {
      if (UNSAFE.has(c.req.method) && crossSite(c.req.raw)) return crossOrigin();
      await next();
    };
  }
  const refuse = (message: string) => () =>
    jsonError(401, "unauthorized", message, {
      headers: { "www-authenticate": 'Bearer realm="jobq"' },
    });
  const tokens = apiTokens(config);
  const bearer = bearerAuth<Env>({
    token: tokens.map((t) => t.token),
    noAuthenticationHeader: { message: refuse("send Authorization: Bearer <API_TOKEN>") },
    invalidAuthenticationHeader: { message: refuse("the bearer token is not valid") },
    invalidToken: { message: refuse("the bearer token is not valid") },
  });
  return async (c, next) => {
    const state = c.get("state");
    if (!c.req.header("authorization")) {
      const session = await requestSession(c.req.raw, config);
      if (session) {
        if (UNSAFE.has(c.req.method) && !sameOrigin(c.req.raw)) return crossOrigin();
        state.session = session;
        return await next();
      }
    }
    try {
      await bearer(c, async () => {
        const sent = c.req.header("authorization")!.replace(/^Bearer\s+/i, "");
        state.tokenName = tokens.find((t) => t.token === sent)?.name;
        await next();
      });
    } catch (err) {
      const res = (err as { getResponse?: () => Response }).getResponse?.();
      if (!res) throw err;
      state.unauthenticated = true;
      if (c.req.path === OPENAPI) return await next();
      return res;
    }
  };
}

const tooLarge = (maxSize: number) =>
  jsonError(413, "payload_too_large", `the request body is larger than ${maxSize} bytes`);

function bodySize(config: Config): MiddlewareHandler<Env> {
  const limited = (maxSize: number) => bodyLimit({ maxSize, onError: () => tooLarge(maxSize) });
  const batch = limited(config.BATCH_BODY_LIMIT_BYTES);
  const other = limited(config.BODY_LIMIT_BYTES);
  return async (c, next) => {
    if (!UNSAFE.has(c.req.method)) return await next();
    const batchPath = c.req.path === "/api/jobs/batch";
    // A declared length is checked as hono/body-limit checks it, without touching the body
    // (its stream is then made only if a route reads it as one).
    const h = c.req.raw.headers;
    const declared = h.get("content-length");
    if (declared !== null && !h.has("transfer-encoding")) {
      const maxSize = batchPath ? config.BATCH_BODY_LIMIT_BYTES : config.BODY_LIMIT_BYTES;
      if (parseInt(declared, 10) > maxSize) return tooLarge(maxSize);
      return await next();
    }
    return await (batchPath ? batch : other)(c, next);
  };
}

/** The `/api` middleware chain for `config`, outermost first. */
export function apiMiddleware(config: Config): MiddlewareHandler<Env>[] {
  return [timing, apiHeaders, auth(config), bodySize(config)];
}
