/**
 * Mounts file-system routes on a Hono app: middleware per folder, handlers
 * per method (405 with `Allow` for the others), pages rendered through
 * `_layout`s and `_app`, `_404` and `_error` pages, and JSON errors under `/api`.
 */
import { Hono } from "hono";
import type { Context as HonoContext } from "hono";
import type { ComponentType } from "preact";
import { type Ctx, type Handlers, isPageResult, type Middleware, page } from "./define.ts";
import { describeError, earlyError, HttpError, jsonError } from "./errors.ts";
import { renderPage } from "./render.tsx";
import { discover, load, type RouteFile } from "./routes.ts";
import { log } from "../log.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;
type Module = Record<string, unknown>;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** Options of {@link mountRoutes}. */
export interface MountOptions<S> {
  /** Folder of route files (or `modules` in memory, keyed by relative file path). */
  routesDir?: string;
  modules?: Record<string, Module>;
  /** Builds the request state (called once per request, before any middleware). */
  state: (c: HonoContext) => S;
  /** Paths answered with JSON errors instead of error pages (default: `/api`). */
  apiPrefix?: string;
  /** Told of every error answered (its status and code), e.g. to log database outages. */
  onErrorAnswered?: (d: { status: number; code: string }) => void;
}

/**
 * Makes `req.formData()` reject with a 400 HttpError, not a TypeError (a 500),
 * when the body is not a readable form: a JSON or text body, a multipart body
 * without its boundary, a broken multipart body.
 */
function guardFormData(req: Request): void {
  const read = req.formData.bind(req);
  Object.defineProperty(req, "formData", {
    configurable: true,
    value: () =>
      read().catch((err: unknown) => {
        throw new HttpError(
          400,
          "bad_form",
          `the form could not be read: ${(err as Error).message}`,
        );
      }),
  });
}

/**
 * A 400 for a request whose path has a segment that is literally `*`
 * (`OPTIONS *` arrives as the path "/" + "*"; also `/%2A`), else `null`. Hono's
 * router runs the same middleware twice for such a path (honojs/hono#5370),
 * and no route here has such a segment, so it is refused before routing.
 */
export function refuseWildcardPath(req: Request, apiPrefix = "/api"): Response | null {
  const path = new URL(req.url).pathname;
  if (!/(?:^|\/)(?:\*|%2a)(?:\/|$)/i.test(path)) return null;
  const api = path === apiPrefix || path.startsWith(apiPrefix + "/");
  return earlyError(400, "bad_request_target", "a path segment may not be *", api);
}

/** Discovers (or takes) route modules and mounts them on `app`. */
export async function mountRoutes<S>(app: Hono, opts: MountOptions<S>): Promise<void> {
  const files: { f: RouteFile; mod: Module }[] = [];
  if (opts.modules) {
    const { kindOf, patternOf, dirOf, specificity } = await import("./routes.ts");
    for (const [file, mod] of Object.entries(opts.modules)) {
      const kind = kindOf(file);
      if (kind) {
        files.push({
          f: { file, kind, pattern: kind === "route" ? patternOf(file) : "", dir: dirOf(file) },
          mod,
        });
      }
    }
    files.sort((a, b) => specificity(a.f.pattern).localeCompare(specificity(b.f.pattern)));
  } else {
    for (const f of await discover(opts.routesDir!)) {
      files.push({ f, mod: await load(opts.routesDir!, f) });
    }
  }
  const apiPrefix = opts.apiPrefix ?? "/api";
  const isApi = (path: string) => path === apiPrefix || path.startsWith(apiPrefix + "/");
  const appWrapper = files.find((x) => x.f.kind === "app")?.mod.default as AnyComponent | undefined;
  const layouts = files.filter((x) => x.f.kind === "layout")
    .sort((a, b) => a.f.dir.length - b.f.dir.length);
  const notFound = files.find((x) => x.f.kind === "notFound")?.mod.default as
    | AnyComponent
    | undefined;
  const errorPage = files.find((x) => x.f.kind === "error")?.mod.default as
    | AnyComponent
    | undefined;

  const covers = (dir: string, path: string) =>
    dir === "/" || path === dir || path.startsWith(dir + "/") || (dir.includes(":") && new RegExp(
      "^" + dir.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, "[^/]+") + "(/|$)",
    ).test(path));
  const wrappersFor = (dir: string): AnyComponent[] => {
    const ws: AnyComponent[] = appWrapper ? [appWrapper] : [];
    for (const l of layouts) if (covers(l.f.dir, dir)) ws.push(l.mod.default as AnyComponent);
    return ws;
  };

  const ctxOf = (c: HonoContext, next?: () => Promise<void>): Ctx<S> => ({
    req: c.req.raw,
    url: new URL(c.req.url),
    params: c.req.param() as Record<string, string>,
    state: c.get("state" as never) as S,
    hono: c,
    async next() {
      if (!next) throw new Error("next() is only available in middleware");
      await next();
      return c.res;
    },
    render: (data, init) => page(data, init),
  });

  const renderFor = (
    c: HonoContext,
    Page: AnyComponent,
    dir: string,
    data: unknown,
    status = 200,
    headers?: HeadersInit,
  ) =>
    renderPage({
      page: Page,
      wrappers: wrappersFor(dir),
      props: {
        data,
        url: new URL(c.req.url),
        params: c.req.param() as Record<string, string>,
        state: c.get("state" as never) as S,
      },
      status,
      headers,
    });

  app.use("*", async (c, next) => {
    c.set("state" as never, opts.state(c) as never);
    guardFormData(c.req.raw);
    await next();
  });

  // Middleware: outer folders first.
  for (
    const { f, mod } of files.filter((x) => x.f.kind === "middleware").sort((a, b) =>
      a.f.dir.length - b.f.dir.length
    )
  ) {
    const list = ([] as unknown[]).concat(mod.handler ?? mod.default ?? []) as Middleware<S>[];
    for (const mw of list) {
      const fn = async (c: HonoContext, next: () => Promise<void>) => {
        const res = await mw(ctxOf(c, next));
        if (res && res !== c.res) c.res = res;
      };
      if (f.dir === "/") app.use("*", fn);
      else {
        app.use(f.dir, fn);
        app.use(f.dir + "/*", fn);
      }
    }
  }

  for (const { f, mod } of files.filter((x) => x.f.kind === "route")) {
    const handlers = (mod.handler ?? {}) as Handlers<S>;
    const Page = mod.default as AnyComponent | undefined;
    const allowed = METHODS.filter((m) => handlers[m] || (m === "GET" && Page));
    for (const method of allowed) {
      app.on(method, f.pattern, async (c) => {
        const h = handlers[method];
        const result = h ? await h(ctxOf(c)) : page(undefined);
        if (result instanceof Response) return result;
        if (isPageResult(result)) {
          if (!Page) {
            throw new Error(`routes/${f.file} returned page() but has no default component`);
          }
          return renderFor(c, Page, f.dir, result.data, result.init.status, result.init.headers);
        }
        throw new Error(`routes/${f.file} ${method} returned neither a Response nor page()`);
      });
    }
    const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
    app.all(f.pattern, (c) => {
      const headers = { allow };
      if (isApi(c.req.path)) {
        return jsonError(
          405,
          "method_not_allowed",
          `${c.req.method} is not allowed here; use ${allow}`,
          { headers },
        );
      }
      return new Response(`Method ${c.req.method} not allowed`, { status: 405, headers });
    });
  }

  app.notFound((c) => {
    if (isApi(c.req.path) || !notFound) {
      return jsonError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`);
    }
    return renderFor(c, notFound, "/", { path: c.req.path }, 404);
  });

  app.onError((err, c) => {
    const d = describeError(err);
    opts.onErrorAnswered?.(d);
    const requestId = (c.get("state" as never) as { requestId?: string } | undefined)?.requestId;
    if (!d.expected) {
      log("error", "http.unhandled", {
        request_id: requestId,
        method: c.req.method,
        path: c.req.path,
        error: err,
        stack: (err as Error)?.stack,
      });
    }
    if (isApi(c.req.path) || !errorPage) {
      return jsonError(d.status, d.code, d.message, {
        issues: d.issues,
        requestId: d.expected ? undefined : requestId,
        headers: d.headers,
      });
    }
    try {
      return renderFor(
        c,
        errorPage,
        "/",
        { status: d.status, code: d.code, message: d.message, requestId },
        d.status,
        d.headers,
      );
    } catch (renderErr) {
      log("error", "http.error_page_failed", { request_id: requestId, error: renderErr });
      return new Response(d.message, {
        status: d.status,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  });
}
