/**
 * Middleware of every request that is not `/api`, on Hono's own:
 * - headers (`hono/secure-headers`): a CSP whose script and style sources are
 *   this request's nonce (on HTML answers that set none of their own, as
 *   `/docs` does), nosniff, `X-Frame-Options: DENY`, Referrer-Policy,
 *   Cross-Origin-Opener-Policy; HTML is not cached;
 * - cross-site form posts are refused with 403 (`hono/csrf`, with the rule of
 *   `same_origin.ts`).
 */
import type { MiddlewareHandler } from "hono";
import { csrf } from "hono/csrf";
import { NONCE, secureHeaders } from "hono/secure-headers";
import { isApi } from "./errors.ts";
import { SAME_ORIGIN_SITES, sameHost } from "./same_origin.ts";

/** The nonce `pageHeaders` put in this request's CSP (`""` before it ran). */
export const nonceOf = (c: { get(key: "secureHeadersNonce"): unknown }): string =>
  String(c.get("secureHeadersNonce") ?? "");

/**
 * Headers `hono/secure-headers` sends by default that jobq does not, and a
 * header a route set itself is kept.
 */
export const HEADERS_NOT_SENT = {
  crossOriginResourcePolicy: false,
  originAgentCluster: false,
  strictTransportSecurity: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  overwrite: false,
} as const;

const headers = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", NONCE],
    styleSrc: ["'self'", NONCE],
    styleSrcAttr: ["'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  referrerPolicy: "strict-origin-when-cross-origin",
  xFrameOptions: "DENY",
  ...HEADERS_NOT_SENT,
});

/** Secure headers on every page answer; the nonced CSP only on HTML. */
export const pageHeaders: MiddlewareHandler = async (c, next) => {
  if (isApi(c.req.path)) return await next();
  await headers(c, async () => {
    await next();
    c.res = new Response(c.res.body, c.res); // headers of a proxied or static answer may be immutable
  });
  const h = c.res.headers;
  const html = (h.get("content-type") ?? "").startsWith("text/html");
  const ours = h.get("content-security-policy")?.includes(`'nonce-${nonceOf(c)}'`);
  if (ours && !html) h.delete("content-security-policy");
  if (html && !h.has("cache-control")) h.set("cache-control", "no-store");
};

const check = csrf({
  origin: (origin, c) => sameHost(origin, c.req.raw),
  secFetchSite: SAME_ORIGIN_SITES,
});

/**
 * 403 for a cross-site form post to a page. A request with neither
 * `Sec-Fetch-Site` nor `Origin` comes from no browser (curl, scripts) and
 * passes, as it does for `/api` (`crossSite`).
 */
export const pageCsrf: MiddlewareHandler = async (c, next) => {
  const browser = c.req.header("sec-fetch-site") ?? c.req.header("origin");
  if (isApi(c.req.path) || browser === undefined) return await next();
  try {
    await check(c, next);
  } catch (err) {
    if (!(err as { getResponse?: unknown }).getResponse) throw err;
    return new Response("Cross-site form posts are refused.", {
      status: 403,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
};
