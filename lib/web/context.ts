/** The per-request {@link Context} handed to middleware, handlers and pages. */
import type { Context as HonoContext } from "hono";
import type { Context } from "./define.ts";

const LOCAL = "http://origin.invalid";

/**
 * A path on this origin to send a browser to, else `/`: it must start with
 * one `/`, hold no control characters, spaces or backslashes (browsers drop
 * tabs and newlines, so `/\t/evil.example` would become `//evil.example`),
 * and resolve to this origin. The answer is the resolved path,
 * percent-encoded, so it always fits in a `Location` header.
 */
export function sameOriginPath(path: string | null): string {
  if (!path || !path.startsWith("/") || path.startsWith("//")) return "/";
  if ([...path].some((c) => c <= " " || c === "\u007f" || c === "\\")) return "/";
  const url = new URL(path, LOCAL);
  return url.origin === LOCAL ? url.pathname + url.search + url.hash : "/";
}

/** The address of a request made in-process (no connection). */
const NO_INFO: Deno.ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "", port: 0 },
  completed: Promise.resolve(),
};

/** The context of one request on Hono context `c`; `next` only for middleware. */
export function contextOf<S>(
  c: HonoContext<{ Variables: { state: S } }>,
  route: string | null,
  next?: () => Promise<void>,
): Context<S> {
  return {
    req: c.req.raw,
    url: new URL(c.req.url),
    params: c.req.param() as Record<string, string>,
    state: c.get("state"),
    info: (c.env as Deno.ServeHandlerInfo | undefined)?.remoteAddr
      ? c.env as Deno.ServeHandlerInfo
      : NO_INFO,
    route,
    error: undefined,
    async next() {
      if (!next) throw new Error("next() is only available in middleware");
      await next();
      return c.res;
    },
    redirect: (path, status = 302) =>
      new Response(null, { status, headers: { location: sameOriginPath(path) } }),
  };
}
