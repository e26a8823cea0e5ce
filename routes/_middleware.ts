/**
 * Middleware for every request, before any handler (`/healthz`, `/metrics`
 * and `/api` included): a `Host` that is not one of `allowedHosts(config)`
 * (loopback names, HOST, PUBLIC_URL, ALLOWED_HOSTS) is refused with 421, so
 * a rebound DNS name cannot reach the server from a browser.
 *
 * Then, for every page (not `/api`, whose own middleware handles tokens
 * and JSON errors):
 * 1. refuses cross-site form posts (Sec-Fetch-Site, else Origin vs Host) with 403;
 * 2. with `DASHBOARD_PASSWORD` set, sends signed-out visitors to `/login`
 *    (open: `/login`, `/healthz`, `/readyz`, `/metrics`, `/static/…`);
 * 3. registers the islands and makes sure their bundles are built;
 * 4. adds secure headers: a CSP whose script and style sources are this
 *    request's nonce, nosniff, frame-ancestors 'none' / X-Frame-Options,
 *    Referrer-Policy, Cross-Origin-Opener-Policy.
 */
import { define, type State } from "@/utils.ts";
import { allowedHosts } from "@/lib/config.ts";
import { earlyError } from "@/lib/http/errors.ts";
import { requestHostname } from "@/lib/http/host_check.ts";
import { requestSession } from "@/lib/http/session.ts";
import { prepareIslands } from "@/lib/web/build.ts";
import type { Context } from "fresh";

const OPEN = ["/login", "/healthz", "/readyz", "/metrics", "/favicon.ico"];
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function isApi(path: string): boolean {
  return path === "/api" || path.startsWith("/api/");
}

/** True when a state-changing request comes from another site. */
export function crossSite(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site) return site !== "same-origin" && site !== "none";
  const origin = req.headers.get("origin");
  if (!origin) return false;
  if (origin === "null") return true;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host") ??
    new URL(req.url).host;
  try {
    return new URL(origin).host !== host;
  } catch {
    return true;
  }
}

/** The Content-Security-Policy of a page answered with `nonce`. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function withHeaders(res: Response, nonce: string, path: string): Response {
  const out = new Response(res.body, res);
  const h = out.headers;
  h.set("x-content-type-options", "nosniff");
  h.set("referrer-policy", "strict-origin-when-cross-origin");
  h.set("x-frame-options", "DENY");
  h.set("cross-origin-opener-policy", "same-origin");
  const html = (h.get("content-type") ?? "").startsWith("text/html");
  if (html && !h.has("content-security-policy") && path !== "/docs") {
    h.set("content-security-policy", contentSecurityPolicy(nonce));
  }
  if (html && !h.has("cache-control")) h.set("cache-control", "no-store");
  return out;
}

async function gate(ctx: Context<State>): Promise<Response | null> {
  const { config } = ctx.state;
  const path = ctx.url.pathname;
  if (!config.DASHBOARD_PASSWORD) return null;
  if (OPEN.includes(path) || path.startsWith("/static/")) return null;
  const session = await requestSession(ctx.req, config);
  ctx.state.session = session;
  if (session) return null;
  const next = path + ctx.url.search;
  return ctx.redirect("/login" + (path === "/" ? "" : "?next=" + encodeURIComponent(next)), 303);
}

const hostCheck = define.middleware(async (ctx) => {
  const host = requestHostname(ctx.req);
  if (host !== null && allowedHosts(ctx.state.config).has(host)) return await ctx.next();
  const shown = JSON.stringify((ctx.req.headers.get("host") ?? ctx.url.host).slice(0, 100));
  return earlyError(
    421,
    "misdirected_request",
    `this server does not answer to the host ${shown}; ` +
      "set PUBLIC_URL or ALLOWED_HOSTS to the name clients use",
    isApi(ctx.url.pathname),
  );
});

const pages = define.middleware(async (ctx) => {
  const path = ctx.url.pathname;
  if (isApi(path)) return await ctx.next();
  const nonce = ctx.state.nonce;
  if (!SAFE_METHODS.has(ctx.req.method) && crossSite(ctx.req)) {
    return withHeaders(
      new Response("Cross-site form posts are refused.", {
        status: 403,
        headers: { "content-type": "text/plain; charset=utf-8" },
      }),
      nonce,
      path,
    );
  }
  const refused = await gate(ctx);
  if (refused) return withHeaders(refused, nonce, path);
  if (!path.startsWith("/static/")) await prepareIslands();
  return withHeaders(await ctx.next(), nonce, path);
});

export const handler = [hostCheck, pages];
