/**
 * Fresh-style route, page and middleware definitions. A route module exports
 * `handler` (one function per method, made with `define.handlers`) and/or a
 * default page component (made with `define.page`). Handlers return a
 * `Response` or `page(data)`, which renders the module's component.
 */
import type { Context as HonoContext } from "hono";
import type { ComponentType, VNode } from "preact";

/** What a handler, middleware or page sees of the request. */
export interface Ctx<S> {
  req: Request;
  url: URL;
  params: Record<string, string>;
  state: S;
  /** The underlying Hono context (for Hono middleware and helpers). */
  hono: HonoContext;
  /** Middleware only: runs the rest of the chain and returns its response. */
  next(): Promise<Response>;
  /** Renders the route's page component with `data` (a `page()` shortcut). */
  render<T>(data: T, init?: PageInit): PageResult<T>;
}

/** Status and headers of a rendered page. */
export interface PageInit {
  status?: number;
  headers?: HeadersInit;
}

/** A request to render the route's page component with `data`. */
export interface PageResult<T> {
  readonly __page: true;
  data: T;
  init: PageInit;
}

/** Asks the framework to render the route's default component with `data`. */
export function page<T>(data: T, init: PageInit = {}): PageResult<T> {
  return { __page: true, data, init };
}

/** True for a value made by {@link page}. */
export function isPageResult(v: unknown): v is PageResult<unknown> {
  return typeof v === "object" && v !== null && (v as { __page?: unknown }).__page === true;
}

/** One method's handler. */
export type HandlerFn<S, T = unknown> = (
  ctx: Ctx<S>,
) => Response | PageResult<T> | Promise<Response | PageResult<T>>;

/** Handlers by HTTP method. */
export type Handlers<S, T = unknown> = Partial<
  Record<"GET" | "POST" | "PUT" | "PATCH" | "DELETE", HandlerFn<S, T>>
>;

/** Props of a page component. */
export interface PageProps<S, T = unknown> {
  data: T;
  url: URL;
  params: Record<string, string>;
  state: S;
}

/** Props of `_app.tsx` and `_layout.tsx`: the inner content and the page props. */
export interface LayoutProps<S> extends PageProps<S, unknown> {
  Component: ComponentType;
}

/** A middleware: may answer itself, or call `ctx.next()` and adjust the response. */
export type Middleware<S> = (ctx: Ctx<S>) => Response | Promise<Response>;

// deno-lint-ignore no-explicit-any
type DataOf<H> = H extends Handlers<any, infer T> ? T : never;

/** Typed helpers for one application's State (see `utils.ts`). */
export function createDefine<S>() {
  return {
    handlers<T>(h: Handlers<S, T>): Handlers<S, T> {
      return h;
    },
    page<H = Handlers<S, unknown>>(
      c: (props: PageProps<S, DataOf<H>>) => VNode | null,
    ): (props: PageProps<S, DataOf<H>>) => VNode | null {
      return c;
    },
    layout(c: (props: LayoutProps<S>) => VNode | null) {
      return c;
    },
    middleware(m: Middleware<S>): Middleware<S> {
      return m;
    },
  };
}
