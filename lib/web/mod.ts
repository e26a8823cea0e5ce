/**
 * `fresh` (the import map's name for this folder): the subset of Fresh 2
 * this app uses, on Hono, so that moving to `@fresh/core` is an import-map
 * change. Routes import from here what Fresh 2 apps import from `fresh`:
 * `createDefine`, `page`, `HttpError` and the types `Context`/`FreshContext`,
 * `PageProps<Data, State>`, `RouteConfig`, `Middleware`, `HandlerFn`,
 * `HandlerByMethod`, `RouteHandler`, `PageResponse`.
 *
 * File-system routes follow Fresh 2: `_app`, nested `_layout`, `_middleware`
 * (`handler` or default export, one or a list), `_404` and `_error` (the
 * nearest to the path; `props.error`), `[param]`, `[...rest]`, `(group)`
 * folders, `(_name)` folders for helpers that are not routes; `handler` as one
 * function or one per method; async page and layout components; `config`
 * with `skipInheritedLayouts` and `skipAppWrapper`; `ctx.redirect`,
 * `ctx.info`, `ctx.route`, `ctx.error`.
 *
 * Left out: the `App` builder and `fsRoutes()` (`mountRoutes` puts the
 * routes on a Hono app instead); `ctx.render()`; partials (`f-partial`,
 * `ctx.isPartial`); `routeOverride`, lazy routes and `css` exports; the
 * `staticFiles`, `csrf`, `cors`, `csp`, `ipFilter` and `trailingSlashes`
 * middleware (the app uses Hono's); the dev server, HMR and Vite plugin;
 * `useCSP`. Islands hydrate through this folder's own bundler (`build.ts`,
 * `client.ts`) and serializer (`serial.ts`), which cover Fresh's prop types
 * but are not its wire format. Differences: `ctx.redirect` only sends to
 * paths on this origin (anything else becomes `/`); `HttpError`'s default
 * message is empty rather than the status text; `_404` answers only paths
 * no route matches (an `HttpError(404)` a handler throws goes to `_error`).
 */
export {
  type Context,
  createDefine,
  type Define,
  type FreshContext,
  type HandlerByMethod,
  type HandlerFn,
  type Method,
  type Middleware,
  page,
  type PageProps,
  type PageResponse,
  type RouteConfig,
  type RouteHandler,
} from "./define.ts";
export { HttpError } from "./error.ts";
export { type MountOptions, mountRoutes } from "./app.ts";
