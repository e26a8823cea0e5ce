/** Formatting for pages and islands: relative and exact times, durations, numbers. Browser-safe. */

/** "3 min ago", "in 2 h", "just now" — `date` relative to `now`. */
export function relativeTime(date: Date | string, now: Date = new Date()): string {
  const d = typeof date === "string" ? new Date(date) : date;
  const s = Math.round((now.getTime() - d.getTime()) / 1000);
  const abs = Math.abs(s);
  const fmt = (n: number, unit: string) => (s >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`);
  if (abs < 5) return "just now";
  if (abs < 60) return fmt(abs, "s");
  if (abs < 3600) return fmt(Math.floor(abs / 60), "min");
  if (abs < 86400) return fmt(Math.floor(abs / 3600), "h");
  if (abs < 86400 * 60) return fmt(Math.floor(abs / 86400), "d");
  return exactTime(d).slice(0, 10);
}

/** "2026-01-15 12:00:00 UTC": the exact instant, unambiguous. */
export function exactTime(date: Date | string): string {
  const d = typeof date === "string" ? new Date(date) : date;
  return d.toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
}

/** "850 ms", "4.2 s", "3 min 5 s", "2 h 10 min". */
export function duration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.round((ms % 60_000) / 1000);
    return s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.round((ms % 3_600_000) / 60_000);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** 12345 → "12,345". */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** One line describing a payload: its most telling fields, truncated. */
export function payloadSummary(type: string, payload: unknown, max = 80): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  let s: string;
  if (type === "email") s = `${p.to ?? "?"} — ${p.subject ?? ""}`;
  else if (type === "report") {
    const r = (p.date_range ?? {}) as Record<string, unknown>;
    s = `${p.report_type ?? "?"} (${p.format ?? "?"}) ${r.from ?? ""} → ${r.to ?? ""}`;
  } else if (type === "notification") {
    s = `${p.channel ?? "?"} → ${p.user_id ?? "?"}: ${p.message ?? ""}`;
  } else s = JSON.stringify(payload) ?? "";
  return s.length > max ? s.slice(0, max - 1) + "…" : s;
}

const ERROR_HEADINGS: Record<number, string> = {
  400: "Bad request",
  401: "Sign in needed",
  403: "Not allowed",
  404: "Not found",
  409: "Not possible right now",
  413: "Too large",
  422: "Invalid input",
  500: "Something went wrong",
  503: "Temporarily unavailable",
};

/** The heading of an error page for an HTTP status ("Not found"; "Error" when unknown). */
export function errorHeading(status: number): string {
  return Object.hasOwn(ERROR_HEADINGS, status) ? ERROR_HEADINGS[status] : "Error";
}
