/**
 * Browser-side helpers for islands: hydration state, throttling, and
 * re-reading server-rendered regions or island props from a fresh render of
 * the current page. Browser-safe; nothing here runs on import.
 */
import { useEffect, useState } from "preact/hooks";
import { reviveProps } from "./serial.ts";

/** False during the server render and the hydration pass, true once mounted in a browser. */
export function useHydrated(): boolean {
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  return ready;
}

let submitting = false;
if (typeof document !== "undefined") {
  // Bubbles after the form's own handlers, so a confirm() that was declined
  // (defaultPrevented) does not count.
  document.addEventListener("submit", (e) => {
    if (!e.defaultPrevented) submitting = true;
  });
  addEventListener("pageshow", () => submitting = false);
}

/**
 * True once a form on this page was submitted: a live reload or swap then
 * would cancel the navigation the submission started (and its result banner).
 */
export function pageIsLeaving(): boolean {
  return submitting;
}

/**
 * Calls `fn` at most once per `ms`: the first call runs at once, later ones
 * fold into one trailing call.
 */
export function throttle(fn: () => void | Promise<void>, ms: number): () => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  const run = async () => {
    timer = undefined;
    if (running) {
      timer = setTimeout(run, ms);
      return;
    }
    running = true;
    last = Date.now();
    try {
      await fn();
    } finally {
      running = false;
    }
  };
  return () => {
    if (timer !== undefined) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
}

/** A fresh server render of the current page, parsed (throws on HTTP errors). */
export async function fetchPage(url = location.href): Promise<Document> {
  const res = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html" } });
  if (!res.ok) throw new Error(`reloading ${url} failed with ${res.status}`);
  // The page's own <style> would count as an inline style of this document (a CSP report).
  const html = (await res.text()).replace(/<style[^>]*>[\s\S]*?<\/style>/g, "");
  return new DOMParser().parseFromString(html, "text/html");
}

/**
 * Replaces the content of every `[data-live]` element of this page with the
 * same element of `doc` (server-rendered, escaped HTML of our own origin).
 * Regions holding islands are left alone. Returns how many changed.
 */
export function swapLiveRegions(doc: Document): number {
  let changed = 0;
  for (const el of document.querySelectorAll<HTMLElement>("[data-live]")) {
    if (el.querySelector("[data-island]")) continue;
    const fresh = doc.querySelector<HTMLElement>(`[data-live="${el.dataset.live}"]`);
    if (fresh && fresh.innerHTML !== el.innerHTML) {
      el.innerHTML = fresh.innerHTML;
      changed++;
    }
  }
  return changed;
}

/** The props the server gave island `name` (its first occurrence) in `doc`, or null. */
export function islandPropsIn(doc: Document, name: string): Record<string, unknown> | null {
  const el = doc.querySelector<HTMLElement>(`[data-island="${name}"]`);
  const text = doc.getElementById("__FRSH_ISLANDS")?.textContent;
  if (!el || !text) return null;
  return reviveProps(JSON.parse(text)[el.dataset.islandId!]);
}

const PAGE_EVENT = "fresh:page";

/** Tells every island that a fresh render of this page arrived (see {@link useLiveProps}). */
export function announcePage(doc: Document): void {
  dispatchEvent(new CustomEvent(PAGE_EVENT, { detail: doc }));
}

/**
 * The props island `name` has in the latest render of this page: `initial`
 * until a live refresh ({@link announcePage}) brings newer ones. State the
 * island keeps in hooks (a selection, an open menu) survives the update.
 */
export function useLiveProps<T>(name: string, initial: T): T {
  const [props, setProps] = useState(initial);
  useEffect(() => {
    const on = (e: Event) => {
      const fresh = islandPropsIn((e as CustomEvent<Document>).detail, name);
      if (fresh) setProps(fresh as T);
    };
    addEventListener(PAGE_EVENT, on);
    return () => removeEventListener(PAGE_EVENT, on);
  }, [name]);
  return props;
}

/** Rewrites every `time[data-relative]` with `format(its datetime)` (keeps the text node). */
export function refreshTimes(format: (d: Date) => string): void {
  for (const el of document.querySelectorAll<HTMLTimeElement>("time[data-relative]")) {
    const text = format(new Date(el.dateTime));
    const node = el.firstChild;
    if (node?.nodeType === Node.TEXT_NODE) {
      if (node.nodeValue !== text) node.nodeValue = text;
    } else el.textContent = text;
  }
}

/**
 * A stable name for a `<details>`: the `data-view-key`s of its ancestors plus
 * its index among the details under the nearest one; null when it has none.
 */
function detailsKey(d: HTMLElement): string | null {
  const owner = d.parentElement?.closest<HTMLElement>("[data-view-key]");
  if (!owner) return null;
  const index = [...owner.querySelectorAll<HTMLElement>("details")].indexOf(d);
  return `${detailsKey(owner) ?? ""}/${owner.dataset.viewKey}#${index}`;
}

/**
 * Saves the scroll position and which keyed `<details>` are open under
 * `key` (sessionStorage), for {@link restoreView} after a reload.
 */
export function saveView(key: string): void {
  const open: Record<string, boolean> = {};
  for (const d of document.querySelectorAll<HTMLDetailsElement>("details")) {
    const k = detailsKey(d);
    if (k) open[k] = d.open;
  }
  try {
    sessionStorage.setItem(key, JSON.stringify({ y: scrollY, open }));
  } catch (err) {
    console.warn("could not keep the view across the reload", err);
  }
}

/** Restores (once) what {@link saveView} kept under `key`; does nothing when nothing was kept. */
export function restoreView(key: string): void {
  let saved: { y: number; open: Record<string, boolean> } | null = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(key) ?? "null");
    sessionStorage.removeItem(key);
  } catch (err) {
    console.warn("could not restore the view", err);
  }
  if (!saved) return;
  for (const d of document.querySelectorAll<HTMLDetailsElement>("details")) {
    const k = detailsKey(d);
    if (k && k in saved.open) d.open = saved.open[k];
  }
  scrollTo(0, saved.y);
}
