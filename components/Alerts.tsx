/**
 * The alert rules' pieces: the state badge, the rules table of `/alerts`
 * (enable/disable and delete forms on each row), the create form, and the
 * dashboard's banner of firing rules. Server-rendered; forms post
 * urlencoded to `/alerts`.
 */
import { JOB_TYPE_NAMES } from "@/lib/jobs/mod.ts";
import {
  ALERT_KINDS,
  alertJobsPath,
  describeAlert,
  describeValue,
  KIND_LABELS,
} from "@/lib/alerts/schema.ts";
import type { Alert, AlertState } from "@/lib/queue/alerts.ts";
import { buttonClass, INPUT, INPUT_INVALID, LABEL, LINK, RelativeTime } from "./ui.tsx";
import type { AlertErrors, AlertValues } from "./alert_form.ts";

const BADGE: Record<AlertState, string> = {
  firing: "bg-red-100 text-red-800 ring-red-300 dark:bg-red-900/50 dark:text-red-200",
  ok:
    "bg-emerald-50 text-emerald-800 ring-emerald-300 dark:bg-emerald-900/40 dark:text-emerald-200",
  disabled: "bg-muted text-muted-foreground ring-border",
};

/** "firing", "ok" or "disabled", as a badge. */
export function AlertBadge({ state }: { state: AlertState }) {
  return (
    <span
      class={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${
        BADGE[state]
      }`}
      data-alert-state={state}
    >
      {state === "firing" && (
        <span
          class="h-1.5 w-1.5 rounded-full bg-red-600"
          aria-hidden="true"
        />
      )}
      {state}
    </span>
  );
}

/** The rules, one row each, with their state and actions. */
export function AlertTable({ items, now }: { items: Alert[]; now: Date }) {
  return (
    <div class="relative overflow-x-auto">
      <table class="w-full text-sm" aria-label="Alert rules">
        <thead class="border-b border-border text-left text-xs text-muted-foreground">
          <tr>
            <th scope="col" class="px-4 py-2 font-medium">State</th>
            <th scope="col" class="px-3 py-2 font-medium">Rule</th>
            <th scope="col" class="px-3 py-2 font-medium">Last value</th>
            <th scope="col" class="px-3 py-2 font-medium">Since</th>
            <th scope="col" class="px-3 py-2 font-medium">Notified</th>
            <th scope="col" class="px-3 py-2 font-medium">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((a) => (
            <tr class="border-b border-border last:border-0 align-top" data-alert={a.id}>
              <td class="px-4 py-2">
                <AlertBadge state={a.state} />
              </td>
              <td class="px-3 py-2">
                <div class="font-medium" data-name>{a.name}</div>
                <div class="text-xs text-muted-foreground">
                  {describeAlert(a)} · <a class={LINK} href={alertJobsPath(a)}>jobs</a>
                </div>
              </td>
              <td class="px-3 py-2 tabular-nums" data-value>{describeValue(a)}</td>
              <td class="px-3 py-2 text-xs text-muted-foreground">
                {a.firing_since
                  ? (
                    <>
                      firing <RelativeTime date={a.firing_since} now={now} />
                    </>
                  )
                  : a.resolved_at
                  ? (
                    <>
                      resolved <RelativeTime date={a.resolved_at} now={now} />
                    </>
                  )
                  : a.last_evaluated_at
                  ? (
                    <>
                      checked <RelativeTime date={a.last_evaluated_at} now={now} />
                    </>
                  )
                  : "not evaluated yet"}
              </td>
              <td class="px-3 py-2 text-xs text-muted-foreground">
                {a.last_notified_at
                  ? (
                    <>
                      {a.notified_state} <RelativeTime date={a.last_notified_at} now={now} />
                    </>
                  )
                  : "—"}
                {a.notify_error && (
                  <div class="text-red-600 dark:text-red-400" data-notify-error>
                    {a.notify_error}
                  </div>
                )}
              </td>
              <td class="px-3 py-2">
                <form method="post" action="/alerts" class="flex justify-end gap-1.5">
                  <input type="hidden" name="id" value={String(a.id)} />
                  <button
                    type="submit"
                    name="action"
                    value={a.enabled ? "disable" : "enable"}
                    class={buttonClass("outline")}
                  >
                    {a.enabled ? "Disable" : "Enable"}
                  </button>
                  <button
                    type="submit"
                    name="action"
                    value="delete"
                    class={buttonClass("ghost", "text-red-600")}
                    aria-label={`Delete ${a.name}`}
                  >
                    Delete
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Errors({ name, errors }: { name: string; errors: AlertErrors }) {
  const list = errors[name];
  if (!list?.length) return null;
  return (
    <ul id={`err-${name}`} class="mt-1 space-y-0.5 text-xs text-red-600" data-error={name}>
      {list.map((m) => <li key={m}>{m}</li>)}
    </ul>
  );
}

const invalid = (errors: AlertErrors, name: string) => Boolean(errors[name]?.length);

function attrs(errors: AlertErrors, name: string) {
  const bad = invalid(errors, name);
  return {
    id: `f-${name}`,
    name,
    "aria-invalid": bad || undefined,
    "aria-describedby": bad ? `err-${name}` : undefined,
    class: `${INPUT} ${bad ? INPUT_INVALID : ""}`,
  };
}

/** The create form (every field shown; the kind decides which ones count). */
export function AlertForm({ values, errors }: { values: AlertValues; errors: AlertErrors }) {
  const other = Object.entries(errors).filter(([k]) =>
    !["name", "kind", "queue", "type", "threshold", "window_minutes"].includes(k)
  );
  return (
    <form method="post" action="/alerts" class="space-y-3 p-4" data-alert-form>
      <input type="hidden" name="action" value="create" />
      <div class="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <div>
          <label class={LABEL} for="f-name">Name</label>
          <input {...attrs(errors, "name")} value={values.name ?? ""} required maxLength={100} />
          <Errors name="name" errors={errors} />
        </div>
        <div>
          <label class={LABEL} for="f-kind">Kind</label>
          <select {...attrs(errors, "kind")}>
            {ALERT_KINDS.map((k) => (
              <option key={k} value={k} selected={values.kind === k}>{KIND_LABELS[k]}</option>
            ))}
          </select>
          <Errors name="kind" errors={errors} />
        </div>
        <div>
          <label class={LABEL} for="f-queue">Queue</label>
          <input {...attrs(errors, "queue")} value={values.queue ?? ""} placeholder="every queue" />
          <Errors name="queue" errors={errors} />
        </div>
        <div>
          <label class={LABEL} for="f-type">Job type</label>
          <select {...attrs(errors, "type")}>
            <option value="">every type</option>
            {JOB_TYPE_NAMES.map((t) => (
              <option key={t} value={t} selected={values.type === t}>{t}</option>
            ))}
          </select>
          <p class="mt-1 text-xs text-muted-foreground">Failure rate and backlog only.</p>
          <Errors name="type" errors={errors} />
        </div>
        <div>
          <label class={LABEL} for="f-threshold">Threshold</label>
          <input
            {...attrs(errors, "threshold")}
            value={values.threshold ?? ""}
            inputMode="decimal"
            placeholder="e.g. 10"
          />
          <p class="mt-1 text-xs text-muted-foreground">
            Percent (failure rate), jobs (backlog) or seconds (oldest pending); fires above it. Not
            used by “no live worker”.
          </p>
          <Errors name="threshold" errors={errors} />
        </div>
        <div>
          <label class={LABEL} for="f-window_minutes">Window (minutes)</label>
          <input
            {...attrs(errors, "window_minutes")}
            value={values.window_minutes ?? ""}
            inputMode="numeric"
          />
          <p class="mt-1 text-xs text-muted-foreground">Failure rate only.</p>
          <Errors name="window_minutes" errors={errors} />
        </div>
      </div>
      {other.length > 0 && (
        <ul class="text-xs text-red-600" data-error="">
          {other.flatMap(([, ms]) => ms).map((m) => <li key={m}>{m}</li>)}
        </ul>
      )}
      <button type="submit" class={buttonClass("primary")}>Create alert</button>
    </form>
  );
}

/** The dashboard's banner: the rules firing now, each linking to its jobs; nothing when none. */
export function FiringBanner({ items, now }: { items: Alert[]; now: Date }) {
  if (items.length === 0) return null;
  return (
    <div
      role="alert"
      class="mb-3 rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-900 dark:border-red-800 dark:bg-red-900/40 dark:text-red-200"
      data-firing={items.length}
    >
      <div class="flex flex-wrap items-center justify-between gap-2">
        <strong class="font-semibold">
          {items.length === 1 ? "1 alert firing" : `${items.length} alerts firing`}
        </strong>
        <a class={`${LINK} text-xs font-medium`} href="/alerts">Alerts</a>
      </div>
      <ul class="mt-1 space-y-0.5">
        {items.map((a) => (
          <li data-alert={a.id}>
            <a class={`${LINK} font-medium`} href={alertJobsPath(a)}>{a.name}</a>
            <span class="text-xs">
              {` — ${describeAlert(a)}`}
              {a.kind === "no_worker" ? "" : `: ${describeValue(a)}`}, since{" "}
              <RelativeTime date={a.firing_since!} now={now} />
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
