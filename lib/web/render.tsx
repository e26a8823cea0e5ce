/**
 * Server rendering of pages: the page component inside its layouts inside
 * `_app`, rendered to HTML with preact-render-to-string.
 */
import type { ComponentType, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import type { LayoutProps, PageProps } from "./define.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** Everything needed to render one page. */
export interface RenderInput<S> {
  page: AnyComponent;
  /** Outermost first; `_app` is the first when present. */
  wrappers: AnyComponent[];
  props: PageProps<S, unknown>;
  status?: number;
  headers?: HeadersInit;
}

/** Renders a page to a complete HTML response. */
export function renderPage<S>(input: RenderInput<S>): Response {
  const { props } = input;
  let Inner: AnyComponent = () => <input.page {...props} />;
  for (const Wrapper of [...input.wrappers].reverse()) {
    const Child = Inner;
    Inner = () => <Wrapper {...(props as LayoutProps<S>)} Component={Child} />;
  }
  const vnode: VNode = <Inner />;
  const body = renderToString(vnode);
  const html = body.startsWith("<html") ? "<!DOCTYPE html>" + body : body;
  const headers = new Headers(input.headers);
  if (!headers.has("content-type")) headers.set("content-type", "text/html; charset=utf-8");
  return new Response(html, { status: input.status ?? 200, headers });
}
