/**
 * Mounts file-system routes on a Hono app: middleware per folder, handlers
 * (one function, or one per method: 405 with `Allow` for the others), pages
 * rendered through their folders' `_layout`s and `_app`, the nearest `_404`
 * and `_error` pages. The app may answer errors itself (`onError`).
 */
import type { Context as HonoContext, Hono } from "hono";
import type { ComponentType } from "preact";
import type { Context, Middleware, PageResponse, RouteConfig, RouteHandler } from "./define.ts";
import { contextOf } from "./context.ts";
import { HttpError } from "./error.ts";
import { renderPage } from "./render.tsx";
import { log } from "../log.ts";
import {
  covers,
  discover,
  kindOf,
  load,
  type RouteFile,
  routeFile,
  specificity,
} from "./routes.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;
type Module = Record<string, unknown>;
type Env<S> = { Variables: { state: S } };
type C<S> = HonoContext<Env<S>>;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
const TEXT = "text/plain; charset=utf-8";
const requestIdOf = (ctx: Context<unknown>) => (ctx.state as { requestId?: string })?.requestId;

/** Options of {@link mountRoutes}. */
export interface MountOptions<S> {
  /** Folder of route files (or `modules` in memory, keyed by relative file path). */
  routesDir?: string;
  modules?: Record<string, Module>;
  /**
   * Builds the request state (called once per request, before any route
   * middleware); without it the app sets the `state` variable itself.
   */
  state?: (c: HonoContext) => S;
  /** Turns a thrown value into an `HttpError` (default: an `HttpError` stays, others are 500). */
  toHttpError?: (err: unknown) => HttpError;
  /**
   * Told of every error answered (thrown, no route: 404, wrong method: 405),
   * `ctx.error` holding what was thrown; may answer it itself, else (null)
   * the nearest `_error` (or `_404`) page does.
   */
  onError?: (ctx: Context<S>, error: HttpError) => Response | null;
}

interface Loaded {
  f: RouteFile;
  mod: Module;
}

async function loadAll(opts: MountOptions<unknown>): Promise<Loaded[]> {
  if (!opts.modules) {
    const files = await discover(opts.routesDir!);
    return await Promise.all(files.map(async (f) => ({ f, mod: await load(opts.routesDir!, f) })));
  }
  const out = Object.entries(opts.modules).filter(([file]) => kindOf(file))
    .map(([file, mod]) => ({ f: routeFile(file), mod }));
  return out.sort((a, b) => specificity(a.f.pattern).localeCompare(specificity(b.f.pattern)));
}

/** The component of the special file of `kind` nearest to `dir` (deepest folder covering it). */
function nearest(files: Loaded[], kind: RouteFile["kind"], dir: string): AnyComponent | undefined {
  return files.filter((x) => x.f.kind === kind && covers(x.f.dir, dir))
    .sort((a, b) => b.f.dir.length - a.f.dir.length)[0]?.mod.default as AnyComponent | undefined;
}

/** Discovers (or takes) route modules and mounts them on `app`. */
export async function mountRoutes<S>(app: Hono<Env<S>>, opts: MountOptions<S>): Promise<void> {
  const files = await loadAll(opts as MountOptions<unknown>);
  const layouts = files.filter((x) => x.f.kind === "layout")
    .sort((a, b) => a.f.dir.length - b.f.dir.length);

  /** `_app` and the layouts of `dir`, outermost first, as the route's and layouts' configs say. */
  const wrappersFor = (dir: string, config: RouteConfig = {}): AnyComponent[] => {
    let appWrapper = config.skipAppWrapper ? undefined : nearest(files, "app", "/");
    let used: Loaded[] = [];
    for (
      const l of config.skipInheritedLayouts ? [] : layouts.filter((l) => covers(l.f.dir, dir))
    ) {
      const own = (l.mod.config ?? {}) as RouteConfig;
      if (own.skipAppWrapper) appWrapper = undefined;
      used = own.skipInheritedLayouts ? [l] : [...used, l];
    }
    return [...(appWrapper ? [appWrapper] : []), ...used.map((l) => l.mod.default as AnyComponent)];
  };

  const render = (
    ctx: Context<S>,
    Page: AnyComponent,
    dir: string,
    res: PageResponse<unknown>,
    config?: RouteConfig,
  ) =>
    renderPage({
      page: Page,
      wrappers: wrappersFor(dir, config),
      props: {
        data: res.data,
        url: ctx.url,
        req: ctx.req,
        params: ctx.params,
        state: ctx.state,
        info: ctx.info,
        route: ctx.route,
        error: ctx.error,
        Component: () => null,
      },
      status: res.status,
      headers: res.headers,
    });

  /** Answers `error` for a request to `dir`: the app's answer, else the nearest error page. */
  const answerError = async (
    ctx: Context<S>,
    error: HttpError,
    dir: string,
    fallback?: () => Response,
  ) => {
    const own = opts.onError?.(ctx, error);
    if (own) return own;
    if (fallback) return fallback();
    const headers = (error as { headers?: HeadersInit }).headers;
    const Page = (!ctx.route && error.status === 404 && nearest(files, "notFound", dir)) ||
      nearest(files, "error", dir);
    const plain = () =>
      new Response(error.message, {
        status: error.status,
        headers: { ...Object.fromEntries(new Headers(headers)), "content-type": TEXT },
      });
    if (!Page) return plain();
    ctx.error = error;
    try {
      return await render(ctx, Page, dir, { data: undefined, status: error.status, headers });
    } catch (renderErr) {
      log("error", "http.error_page_failed", { request_id: requestIdOf(ctx), error: renderErr });
      return plain();
    }
  };

  const state = opts.state;
  if (state) {
    app.use("*", async (c, next) => {
      c.set("state", state(c));
      await next();
    });
  }

  // Middleware: outer folders first.
  for (
    const { f, mod } of files.filter((x) => x.f.kind === "middleware")
      .sort((a, b) => a.f.dir.length - b.f.dir.length)
  ) {
    const list = ([] as unknown[]).concat(mod.handler ?? mod.default ?? []) as Middleware<S>[];
    for (const mw of list) {
      const fn = async (c: C<S>, next: () => Promise<void>) => {
        const res = await mw(contextOf(c, null, next));
        if (res && res !== c.res) c.res = res;
      };
      if (f.dir === "/") app.use("*", fn);
      else app.use(f.dir, fn).use(f.dir + "/*", fn);
    }
  }

  for (const { f, mod } of files.filter((x) => x.f.kind === "route")) {
    const handler = mod.handler as RouteHandler<unknown, S> | undefined;
    const Page = mod.default as AnyComponent | undefined;
    const config = mod.config as RouteConfig | undefined;
    const run = async (c: C<S>, fn?: (ctx: Context<S>) => unknown) => {
      const ctx = contextOf(c, f.pattern);
      const result = fn ? await fn(ctx) : { data: undefined };
      if (result instanceof Response) return result;
      if (!Page) {
        throw new Error(`routes/${f.file} returned page data but has no default component`);
      }
      return render(ctx, Page, f.dir, result as PageResponse<unknown>, config);
    };
    if (typeof handler === "function") {
      app.all(f.pattern, (c) => run(c, handler));
      continue;
    }
    const byMethod = handler ?? {};
    const allowed = METHODS.filter((m) => byMethod[m] || (m === "GET" && Page));
    for (const m of allowed) app.on(m, f.pattern, (c) => run(c, byMethod[m]));
    const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
    app.all(f.pattern, async (c) => {
      const ctx = contextOf(c, f.pattern);
      const error = new HttpError(405, `${c.req.method} is not allowed here; use ${allow}`);
      const res = await answerError(
        ctx,
        error,
        f.dir,
        () => new Response(`Method ${c.req.method} not allowed`, { status: 405 }),
      );
      res.headers.set("allow", allow);
      return res;
    });
  }

  app.notFound((c) => {
    const ctx = contextOf(c, null);
    return answerError(
      ctx,
      new HttpError(404, `no route for ${c.req.method} ${c.req.path}`),
      c.req.path,
    );
  });

  app.onError((err, c) => {
    const ctx = contextOf(c, c.req.routePath);
    ctx.error = err;
    const error = opts.toHttpError?.(err) ??
      (err instanceof HttpError
        ? err
        : new HttpError(500, "Internal Server Error", { cause: err }));
    return answerError(ctx, error, c.req.path);
  });
}
