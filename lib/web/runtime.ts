/**
 * Browser-side helpers for islands: hydration state, JSON calls to `/api`
 * with the error envelope unwrapped, one shared `/api/events` stream, and
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

/** An `/api` error: HTTP status plus the envelope's code and message. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

/** Calls the JSON API (same origin, session cookie included); throws {@link ApiError} on errors. */
export async function apiJson<T>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("accept", "application/json");
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  const res = await fetch(path, { ...init, body, headers, credentials: "same-origin" });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    throw new ApiError(
      res.status,
      data?.error?.code ?? "http_" + res.status,
      data?.error?.message ?? `request failed with ${res.status}`,
    );
  }
  return data as T;
}

type Listener = () => void;
const listeners = new Set<Listener>();
const statusListeners = new Set<(live: boolean) => void>();
let source: EventSource | null = null;
let live = false;

function setLive(v: boolean) {
  live = v;
  for (const l of statusListeners) l(v);
}

function openSource() {
  if (source || typeof EventSource === "undefined") return;
  source = new EventSource("/api/events");
  const fire = () => {
    for (const l of listeners) l();
  };
  source.onopen = () => {
    setLive(true);
    fire();
  };
  source.onerror = () => setLive(false);
  source.onmessage = fire;
  for (const name of ["change", "changed", "job", "jobs", "stats"]) {
    source.addEventListener(name, fire);
  }
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
 * Calls `fn` whenever jobs change (any message on `/api/events`), and once
 * each time the stream (re)connects, so nothing missed while disconnected
 * stays stale. One EventSource serves every island on the page. Returns the
 * unsubscribe function; the stream closes with the last subscriber.
 */
export function onJobsChanged(fn: Listener): () => void {
  listeners.add(fn);
  openSource();
  return () => {
    listeners.delete(fn);
    if (listeners.size === 0 && source) {
      source.close();
      source = null;
      setLive(false);
    }
  };
}

/** Whether the shared event stream is connected; re-renders on changes. */
export function useLive(): boolean {
  const [v, setV] = useState(live);
  useEffect(() => {
    statusListeners.add(setV);
    setV(live);
    return () => void statusListeners.delete(setV);
  }, []);
  return v;
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
  const text = doc.getElementById("__jobq_islands")?.textContent;
  if (!el || !text) return null;
  return reviveProps(JSON.parse(text)[el.dataset.islandId!]);
}

const PAGE_EVENT = "jobq:page";

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
