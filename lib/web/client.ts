/**
 * The browser entry of the island runtime: reads the props the server wrote
 * into `#__FRSH_ISLANDS` and hydrates each `[data-island]` element with its
 * component. Bundled by `lib/web/build.ts`; pages import it only when they
 * hold islands.
 */
import { type ComponentType, h, hydrate } from "preact";
import { reviveProps } from "./serial.ts";

/** Hydrates every island on the page whose component is in `islands`. */
export function boot(islands: Record<string, ComponentType<Record<string, unknown>>>): void {
  const data = document.getElementById("__FRSH_ISLANDS")?.textContent;
  const props: Record<string, unknown> = data ? JSON.parse(data) : {};
  for (const el of document.querySelectorAll<HTMLElement>("[data-island]")) {
    const name = el.dataset.island!;
    const component = islands[name];
    if (!component) continue;
    try {
      hydrate(h(component, reviveProps(props[el.dataset.islandId!])), el);
    } catch (err) {
      console.error(`island ${name} failed to hydrate`, err);
    }
  }
}
