/**
 * Middleware of every page (not `/api`), after the app's Host check, secure
 * headers and cross-site check (`lib/http/page_middleware.ts`):
 * 1. with `DASHBOARD_PASSWORD` set, sends signed-out visitors to `/login`
 *    (open: `/login`, `/healthz`, `/readyz`, `/metrics`, `/static/…`);
 * 2. registers the islands and makes sure their bundles are built.
 */
import { define, type State } from "@/utils.ts";
import type { Context } from "fresh";
import { isApi, pathOf } from "@/lib/http/errors.ts";
import { requestSession } from "@/lib/http/session.ts";
import { prepareIslands } from "@/lib/web/build.ts";

const OPEN = ["/login", "/healthz", "/readyz", "/metrics", "/favicon.ico"];

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

export const handler = define.middleware(async (ctx) => {
  const path = pathOf(ctx.req.url);
  if (isApi(path)) return await ctx.next();
  const refused = await gate(ctx);
  if (refused) return refused;
  if (!path.startsWith("/static/")) await prepareIslands();
  return await ctx.next();
});
