/**
 * Fresh 2's route, page and middleware types and `define` helpers. A route
 * module exports `handler` (a function for every method, or one per method)
 * and/or a default page component; a handler returns a `Response` or
 * `page(data)`, which renders the module's component with `data`.
 */
import type { ComponentType, VNode } from "preact";

/** What a handler, middleware or page sees of the request. */
export interface Context<State> {
  readonly req: Request;
  readonly url: URL;
  readonly params: Record<string, string>;
  state: State;
  /** The connection the request came over (a blank address in-process). */
  readonly info: Deno.ServeHandlerInfo;
  /** The matched route pattern (`/jobs/:id`), `null` in middleware before routing. */
  readonly route: string | null;
  /** The error being answered (in `_error` pages), else `undefined`. */
  error: unknown;
  /** Middleware only: runs the rest of the chain and returns its response. */
  next(): Promise<Response>;
  /**
   * A redirect to a path on this origin. Fresh collapses `//` so that a
   * protocol-relative path stays on this origin; this goes further: anything
   * that does not resolve to a plain path on this origin becomes `/`.
   */
  redirect(pathOrUrl: string, status?: number): Response;
}

/** Fresh 2 also calls the context `FreshContext`. */
export type FreshContext<State> = Context<State>;

/** What a handler asks to render: the page component with `data`. */
export interface PageResponse<T> {
  data: T;
  headers?: HeadersInit;
  status?: number;
}

/** Asks the framework to render the route's default component with `data`. */
export function page(): PageResponse<undefined>;
export function page<T>(
  data: T,
  options?: { headers?: HeadersInit; status?: number },
): PageResponse<T>;
export function page<T>(
  data?: T,
  options?: { headers?: HeadersInit; status?: number },
): PageResponse<T> {
  return { data: data as T, headers: options?.headers, status: options?.status };
}

/** One handler (for one method, or for every method). */
export interface HandlerFn<Data, State> {
  (ctx: Context<State>): Response | PageResponse<Data> | Promise<Response | PageResponse<Data>>;
}

/** The methods a route may answer one by one. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS";

/** Handlers by HTTP method. */
export type HandlerByMethod<Data, State> = { [M in Method]?: HandlerFn<Data, State> };

/** A route's `handler` export: one function for every method, or one per method. */
export type RouteHandler<Data, State> = HandlerFn<Data, State> | HandlerByMethod<Data, State>;

/** A route's `config` export. */
export interface RouteConfig {
  /** Render without the `_layout`s of the folders above the route's own. */
  skipInheritedLayouts?: boolean;
  /** Render without `_app`. */
  skipAppWrapper?: boolean;
}

/** Props of pages, layouts, `_app`, `_404` and `_error` (`Component` is the inner content). */
export interface PageProps<Data = unknown, State = unknown> {
  data: Data;
  url: URL;
  req: Request;
  params: Record<string, string>;
  state: State;
  info: Deno.ServeHandlerInfo;
  route: string | null;
  /** The error an `_error` page answers (see `HttpError` for its status). */
  error: unknown;
  Component: ComponentType;
}

/** A middleware: may answer itself, or call `ctx.next()` and adjust the response. */
export type Middleware<State> = (ctx: Context<State>) => Response | Promise<Response>;

/** A page or layout component, maybe async. */
export type PageComponent<Props> = (props: Props) => VNode | null | Promise<VNode | null>;

type DataOf<H, State> = H extends HandlerFn<infer T, State> ? T
  : H extends HandlerByMethod<infer T, State> ? T
  : never;

/** Typed helpers for one application's State (see `utils.ts`). */
export function createDefine<State>() {
  return {
    handlers<Data, H extends RouteHandler<Data, State> = RouteHandler<Data, State>>(h: H): H {
      return h;
    },
    page<H = never>(c: PageComponent<PageProps<DataOf<H, State>, State>>) {
      return c;
    },
    layout(c: PageComponent<PageProps<unknown, State>>) {
      return c;
    },
    middleware<M extends Middleware<State> | Middleware<State>[]>(m: M): M {
      return m;
    },
  };
}

/** The helpers {@link createDefine} makes. */
export type Define<State> = ReturnType<typeof createDefine<State>>;
