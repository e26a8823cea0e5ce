/**
 * Server rendering of pages: the page component inside its layouts inside
 * `_app`, rendered to HTML with preact-render-to-string; then the page's
 * Twind CSS (only the rules its markup uses) goes into `<head>` as a nonced
 * `<style>`, and, when the page holds islands, their props and one nonced
 * module script that hydrates them go before `</body>`. A page without
 * islands carries no script at all. Async page and layout components are
 * awaited before rendering (they may not use hooks).
 */
import type { ComponentType, VNode } from "preact";
import { renderToString } from "preact-render-to-string";
import type { PageProps } from "./define.ts";
import { collectIslands, type IslandUse } from "./islands.ts";
import { currentManifest, type Manifest, OUT_URL } from "./build.ts";
import { extractCss } from "./twind.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** Everything needed to render one page. */
export interface RenderInput<S> {
  page: AnyComponent;
  /** Outermost first; `_app` is the first when present. */
  wrappers: AnyComponent[];
  /** The page's props (`data`, `url`, `params`, `state` at least; `Component` is set here). */
  props:
    & Pick<PageProps<unknown, S>, "data" | "url" | "params" | "state">
    & Partial<PageProps<unknown, S>>;
  status?: number;
  headers?: HeadersInit;
}

const escapeAttr = (s: string) =>
  s.replace(/[&"<>]/g, (c) => ({ "&": "&amp;", '"': "&quot;", "<": "&lt;", ">": "&gt;" })[c]!);

/** The `<script>` tags that hydrate `islands` (empty when there are none or no bundles). */
export function islandScripts(
  islands: IslandUse[],
  manifest: Manifest | null,
  nonce: string,
): { head: string; body: string } {
  if (islands.length === 0 || !manifest) return { head: "", body: "" };
  const names = [...new Set(islands.map((i) => i.name))].filter((n) => manifest.islands[n]);
  if (names.length === 0) return { head: "", body: "" };
  const n = nonce ? ` nonce="${escapeAttr(nonce)}"` : "";
  const files = new Set<string>([manifest.client, ...names.map((x) => manifest.islands[x])]);
  for (const f of [...files]) for (const d of manifest.imports[f] ?? []) files.add(d);
  const head = [...files].map((f) => `<link rel="modulepreload" href="${OUT_URL}${f}">`).join("");
  const props = "{" + islands.map((i) => `"${i.id}":${i.props}`).join(",") + "}";
  const imports = names.map((x, i) => `import I${i} from"${OUT_URL}${manifest.islands[x]}";`)
    .join("");
  const map = names.map((x, i) => `${JSON.stringify(x)}:I${i}`).join(",");
  const body = `<script type="application/json" id="__FRSH_ISLANDS"${n}>${props}</script>` +
    `<script type="module"${n}>import{boot}from"${OUT_URL}${manifest.client}";${imports}boot({${map}});</script>`;
  return { head, body };
}

const isAsync = (c: AnyComponent) => c.constructor.name === "AsyncFunction";

/** `Component` rendered with `props`: an async one is called and awaited now. */
async function resolve(Component: AnyComponent, props: object): Promise<AnyComponent> {
  if (!isAsync(Component)) return () => <Component {...props} />;
  const vnode = await (Component as (p: object) => Promise<VNode | null>)(props);
  return () => vnode;
}

/** Renders a page (inside `wrappers`) to a complete HTML response. */
export async function renderPage<S>(input: RenderInput<S>): Promise<Response> {
  const { props } = input;
  let Inner = await resolve(input.page, props);
  for (const Wrapper of [...input.wrappers].reverse()) {
    Inner = await resolve(Wrapper, { ...props, Component: Inner });
  }
  const vnode: VNode = <Inner />;
  const { result: body, islands } = collectIslands(() => renderToString(vnode));
  const nonce = (props.state as { nonce?: string } | undefined)?.nonce ?? "";
  const manifest = currentManifest();
  let html = body.startsWith("<html") ? "<!DOCTYPE html>" + body : body;
  if (html.includes("</head>")) {
    const css = extractCss(body, islands.length && manifest ? manifest.classes : []);
    const scripts = islandScripts(islands, manifest, nonce);
    const n = nonce ? ` nonce="${escapeAttr(nonce)}"` : "";
    html = html.replace("</head>", `<style${n}>${css}</style>${scripts.head}</head>`);
    if (scripts.body) {
      const at = html.lastIndexOf("</body>");
      html = at >= 0 ? html.slice(0, at) + scripts.body + html.slice(at) : html + scripts.body;
    }
  }
  const headers = new Headers(input.headers);
  if (!headers.has("content-type")) headers.set("content-type", "text/html; charset=utf-8");
  return new Response(html, { status: input.status ?? 200, headers });
}
