/**
 * The browser's side of `/api` for islands: JSON calls with the error
 * envelope unwrapped, and one shared `/api/events` stream. Browser-safe;
 * nothing here runs on import.
 */
import { useEffect, useState } from "preact/hooks";

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
