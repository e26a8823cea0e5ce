/**
 * The shared look (shadcn/ui-like): class strings for buttons, inputs and
 * cards, and small server components built on them. Browser-safe, so islands
 * use the same pieces.
 */
import type { ComponentChildren, JSX } from "preact";
import { exactTime, relativeTime } from "./format.ts";

const focus =
  "focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring focus-visible:ring-offset-2 focus-visible:ring-offset-background";

/** Class strings of the button variants. */
export const BUTTON = {
  base:
    `inline-flex items-center justify-center gap-1.5 whitespace-nowrap rounded-md text-sm font-medium h-8 px-3 transition-colors disabled:opacity-50 disabled:pointer-events-none cursor-pointer ${focus}`,
  primary: "bg-primary text-primary-foreground hover:opacity-90",
  outline: "border border-input bg-background hover:bg-accent",
  ghost: "hover:bg-accent",
  destructive: "bg-destructive text-destructive-foreground hover:opacity-90",
};

/** Full class string of a button variant. */
export function buttonClass(
  variant: keyof Omit<typeof BUTTON, "base"> = "outline",
  extra = "",
): string {
  return `${BUTTON.base} ${BUTTON[variant]} ${extra}`.trim();
}

/** Text inputs, selects and textareas. */
export const INPUT =
  `block w-full rounded-md border border-input bg-background px-2.5 py-1.5 text-sm placeholder:text-muted-foreground ${focus}`;
/** A field whose value is invalid. */
export const INPUT_INVALID = "border-destructive";
/** Labels above inputs. */
export const LABEL = "block text-sm font-medium mb-1";
/** Links in text. */
export const LINK = `underline-offset-4 hover:underline rounded-sm ${focus}`;
/** Cards. */
export const CARD = "rounded-lg border border-border bg-card shadow-sm";

/** A bordered card with an optional title row. */
export function Card(
  props: {
    title?: string;
    actions?: ComponentChildren;
    children: ComponentChildren;
    class?: string;
    id?: string;
  },
) {
  return (
    <section class={`${CARD} ${props.class ?? ""}`} id={props.id} aria-label={props.title}>
      {props.title && (
        <div class="flex items-center justify-between gap-2 border-b border-border px-4 py-2.5">
          <h2 class="text-sm font-semibold">{props.title}</h2>
          {props.actions}
        </div>
      )}
      {props.children}
    </section>
  );
}

/** The title row of a page: heading, optional description and actions. */
export function PageHeader(
  props: { title: ComponentChildren; description?: ComponentChildren; actions?: ComponentChildren },
) {
  return (
    <div class="mb-4 flex flex-wrap items-end justify-between gap-3">
      <div class="min-w-0">
        <h1 class="text-xl font-semibold tracking-tight">{props.title}</h1>
        {props.description && (
          <p class="mt-0.5 text-sm text-muted-foreground">{props.description}</p>
        )}
      </div>
      {props.actions && <div class="flex flex-wrap items-center gap-2">{props.actions}</div>}
    </div>
  );
}

const STATUS_CLASS: Record<string, string> = {
  pending: "bg-amber-100 text-amber-800 ring-amber-600/20 dark:bg-amber-900/40 dark:text-amber-300",
  processing: "bg-sky-100 text-sky-800 ring-sky-600/20 dark:bg-sky-900/40 dark:text-sky-300",
  completed:
    "bg-emerald-100 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-900/40 dark:text-emerald-300",
  failed: "bg-red-100 text-red-800 ring-red-600/20 dark:bg-red-900/40 dark:text-red-300",
  cancelled: "bg-zinc-100 text-zinc-700 ring-zinc-500/20 dark:bg-zinc-800 dark:text-zinc-300",
  scheduled:
    "bg-violet-100 text-violet-800 ring-violet-600/20 dark:bg-violet-900/40 dark:text-violet-300",
  paused:
    "bg-orange-100 text-orange-900 ring-orange-600/30 dark:bg-orange-900/40 dark:text-orange-200",
};

const STATUS_DOT: Record<string, string> = {
  pending: "bg-amber-500",
  processing: "bg-sky-500 animate-pulse",
  completed: "bg-emerald-500",
  failed: "bg-red-500",
  cancelled: "bg-zinc-400",
  scheduled: "bg-violet-500",
  paused: "bg-orange-500",
};

/** Dot colour class of a status (for legends and cards). */
export function statusDot(status: string): string {
  return STATUS_DOT[status] ?? "bg-zinc-400";
}

/** True when a job with `status` and `scheduledFor` waits for its time (pending, not yet due). */
export function isScheduled(
  status: string,
  scheduledFor: Date | string | null | undefined,
  now: Date,
): boolean {
  return status === "pending" && !!scheduledFor &&
    new Date(scheduledFor).getTime() > now.getTime();
}

/**
 * A coloured pill naming a job status. Given `scheduledFor` and `now`, a
 * pending job that is not due yet reads "scheduled · in 4 min" (exact time on
 * hover) instead of "pending"; a due pending job of a paused queue
 * (`paused`) reads "paused".
 */
export function StatusBadge(
  { status, scheduledFor, now, paused }: {
    status: string;
    scheduledFor?: Date | string | null;
    now?: Date;
    paused?: boolean;
  },
) {
  const later = now !== undefined && isScheduled(status, scheduledFor, now);
  const held = !later && status === "pending" && !!paused;
  const shown = later ? "scheduled" : held ? "paused" : status;
  return (
    <span
      class={`inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${
        STATUS_CLASS[shown] ?? STATUS_CLASS.cancelled
      }`}
      title={later
        ? `pending, due ${exactTime(scheduledFor!)}`
        : held
        ? "pending: its queue is paused"
        : undefined}
      data-badge={shown}
    >
      <span class={`h-1.5 w-1.5 rounded-full ${statusDot(shown)}`} aria-hidden="true" />
      {later ? `scheduled · ${relativeTime(scheduledFor!, now)}` : shown}
    </span>
  );
}

/** Priority 1–5 as a compact label (5 is highest). */
export function PriorityLabel({ priority }: { priority: number }) {
  const cls = priority >= 5
    ? "text-red-700 dark:text-red-400 font-semibold"
    : priority === 4
    ? "text-amber-700 dark:text-amber-400 font-medium"
    : "text-muted-foreground";
  return <span class={`tabular-nums ${cls}`} title={`priority ${priority} of 5`}>P{priority}</span>;
}

/**
 * A relative time ("3 min ago") with the exact instant on hover and for
 * machines; live pages rewrite it as it ages (`data-relative`).
 */
export function RelativeTime({ date, now }: { date: Date | string; now?: Date }) {
  const d = typeof date === "string" ? new Date(date) : date;
  return (
    <time dateTime={d.toISOString()} title={exactTime(d)} class="whitespace-nowrap" data-relative>
      {relativeTime(d, now)}
    </time>
  );
}

/** A message box: info, success or error. */
export function Alert(
  props:
    & { kind?: "info" | "success" | "error"; children: ComponentChildren; id?: string }
    & Pick<
      JSX.HTMLAttributes<HTMLDivElement>,
      "role"
    >,
) {
  const kind = props.kind ?? "info";
  const cls = kind === "error"
    ? "border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-900/40 dark:text-red-200"
    : kind === "success"
    ? "border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-900/40 dark:text-emerald-200"
    : "border-border bg-muted text-foreground";
  return (
    <div
      id={props.id}
      role={props.role ?? (kind === "error" ? "alert" : "status")}
      class={`mb-4 rounded-md border px-3 py-2 text-sm ${cls}`}
    >
      {props.children}
    </div>
  );
}

/** "No jobs yet" style placeholder. */
export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="px-4 py-8 text-center text-sm text-muted-foreground">{children}</p>;
}
