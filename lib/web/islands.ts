/**
 * Islands on the server: the registry of components under `islands/`, the
 * markers around each island's server HTML, and the per-render list of
 * islands with their serialised props. Any registered component used in a
 * page renders as
 * `<div data-island="Name" data-island-id="0" class="contents">…</div>`;
 * the page then carries the props (`#__FRSH_ISLANDS`) and one module script
 * that imports the island bundles and hydrates them (see `client.ts`).
 * An island used inside another island is part of its parent's bundle and
 * gets no marker of its own.
 */
import { type ComponentType, createContext, h, options, type VNode } from "preact";
import { useContext } from "preact/hooks";
import { join } from "node:path";
import { serializeProps } from "./serial.ts";
import { toFileUrl } from "./paths.ts";

export { deserializeProps, IslandPropsError, serializeProps } from "./serial.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const registry = new Map<AnyComponent, string>();
const InIsland = createContext(false);

/** One island used by a render: its id on the page, name and serialised props. */
export interface IslandUse {
  id: string;
  name: string;
  props: string;
}

let collecting: IslandUse[] | null = null;
let bypass = false;

/** Creates a vnode without island marking (the marker's own child). */
function raw<T>(make: () => T): T {
  bypass = true;
  try {
    return make();
  } finally {
    bypass = false;
  }
}

/** Registers `component` as the island `name` (the file name under `islands/`). */
export function registerIsland(name: string, component: AnyComponent): void {
  if (typeof component !== "function") {
    throw new Error(`islands/${name}.tsx must default-export a component named ${name}`);
  }
  registry.set(component, name);
}

/** The island name of a component, or undefined when it is not an island. */
export function islandName(component: unknown): string | undefined {
  return registry.get(component as AnyComponent);
}

/**
 * Imports every `*.tsx` file in `dir` (not tests) and registers its default
 * export under the file name. Returns the names, sorted. A missing folder
 * means no islands.
 */
export async function loadIslands(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /^[A-Z][A-Za-z0-9]*\.tsx$/.test(e.name)) names.push(e.name.slice(0, -4));
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
  names.sort();
  for (const name of names) {
    const mod = await import(toFileUrl(join(dir, name + ".tsx")).href);
    registerIsland(name, mod.default);
  }
  return names;
}

function IslandMarker(
  { __c: Component, __name: name, __props: props }: {
    __c: AnyComponent;
    __name: string;
    __props: Record<string, unknown>;
  },
) {
  const inside = useContext(InIsland);
  const inner = raw(() => h(Component, props));
  if (inside || !collecting) return inner;
  const id = String(collecting.length);
  collecting.push({ id, name, props: serializeProps(name, props) });
  return h(
    "div",
    { "data-island": name, "data-island-id": id, class: "contents" },
    h(InIsland.Provider, { value: true }, inner),
  );
}

const previousVnodeHook = options.vnode;
options.vnode = (vnode: VNode) => {
  const name = !bypass && typeof vnode.type === "function" ? registry.get(vnode.type) : undefined;
  if (name) {
    const props = vnode.props as Record<string, unknown>;
    vnode.props = { __c: vnode.type, __name: name, __props: props } as never;
    vnode.type = IslandMarker as never;
  }
  previousVnodeHook?.(vnode);
};

/**
 * Runs `render` while recording the islands it uses; returns its result and
 * the islands in page order. Renders are synchronous, so one list at a time
 * suffices.
 */
export function collectIslands<T>(render: () => T): { result: T; islands: IslandUse[] } {
  const outer = collecting;
  const list: IslandUse[] = [];
  collecting = list;
  try {
    return { result: render(), islands: list };
  } finally {
    collecting = outer;
  }
}
