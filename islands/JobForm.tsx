/**
 * The create-job form. Server-rendered, it is a plain POST form for one type
 * (a "Switch type" button reloads it for another); hydrated, the type
 * selector swaps the fields at once and every field is checked with the
 * same zod schema as the API — a field once left, and every field from the
 * first submit on (Enter or the button), with the message beside the field
 * in the words of its label. A blur during a press on the button shows
 * nothing until the press ends, so the button never moves from under the
 * pointer. The server validates again either way.
 *
 * With `editOf` (a failed or cancelled job's id) it is the edit-and-retry
 * form of that job: it posts to `/jobs/<id>/edit`, the type is fixed (shown,
 * not sent), and only the payload, priority and queue show.
 */
import { useRef, useState } from "preact/hooks";
import { defaultQueueOf, JOB_TYPE_NAMES, JOB_TYPES } from "@/lib/jobs/mod.ts";
import type { FormField } from "@/lib/jobs/mod.ts";
import { useHydrated } from "@/lib/web/runtime.ts";
import { buttonClass, INPUT, INPUT_INVALID, LABEL } from "@/components/ui.tsx";
import { type FormErrors, type FormValues, validateForm } from "@/components/job_form.ts";

/** Props of {@link JobForm}. */
export interface JobFormProps {
  type: string;
  values: FormValues;
  errors: FormErrors;
  /** Edit and retry this job instead of creating one. */
  editOf?: string;
}

const idOf = (name: string) => "f-" + name.replaceAll(".", "-");

function Err({ name, errors }: { name: string; errors: FormErrors }) {
  return errors[name]
    ? (
      <p
        id={idOf(name) + "-error"}
        class="mt-1 text-xs text-red-600 dark:text-red-400"
        data-error-for={name}
      >
        {errors[name]}
      </p>
    )
    : null;
}

function Input(
  { f, value, error, onInput, onBlur }: {
    f: FormField;
    value: string;
    error?: string;
    onInput: (v: string) => void;
    onBlur: () => void;
  },
) {
  const common = {
    id: idOf(f.name),
    name: f.name,
    "aria-invalid": error ? "true" as const : undefined,
    "aria-describedby": error
      ? idOf(f.name) + "-error"
      : f.help
      ? idOf(f.name) + "-help"
      : undefined,
    class: `${INPUT} ${error ? INPUT_INVALID : ""}`,
    onBlur,
  };
  if (f.kind === "textarea") {
    return (
      <textarea
        {...common}
        rows={5}
        placeholder={f.placeholder}
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
      />
    );
  }
  if (f.kind === "select") {
    return (
      <select {...common} value={value} onChange={(e) => onInput(e.currentTarget.value)}>
        <option value="" selected={value === ""}>Choose…</option>
        {(f.options ?? []).map((o) => (
          <option key={o} value={o} selected={o === value}>{o}</option>
        ))}
      </select>
    );
  }
  return (
    <input
      {...common}
      type={f.kind === "date" ? "date" : f.kind === "email" ? "email" : "text"}
      placeholder={f.placeholder}
      value={value}
      onInput={(e) => onInput(e.currentTarget.value)}
    />
  );
}

export default function JobForm(props: JobFormProps) {
  const hydrated = useHydrated();
  const [type, setType] = useState(props.type);
  const [values, setValues] = useState<FormValues>(props.values);
  const [errors, setErrors] = useState<FormErrors>(props.errors);
  // Fields left once (their errors show); after a submit (or a 422 page) every error shows.
  const touched = useRef(new Set<string>());
  const submitted = useRef(Object.keys(props.errors).length > 0);
  // A press on the submit button is under way: a blur error now would move the button
  // from under the pointer and the click would miss it; the submit checks every field.
  const pressing = useRef(false);
  const def = JOB_TYPES[type] ?? JOB_TYPES.email;
  const editOf = props.editOf;
  const check = (v: FormValues) => {
    const r = validateForm({ ...v, type });
    const errs = r.ok ? {} : r.errors;
    setErrors(
      submitted.current
        ? errs
        : Object.fromEntries(Object.entries(errs).filter(([k]) => touched.current.has(k))),
    );
    return r.ok;
  };
  const set = (name: string, v: string) => {
    const next = { ...values, [name]: v };
    setValues(next);
    if (submitted.current || touched.current.has(name) || errors[name]) {
      touched.current.add(name);
      check(next);
    }
  };
  const blur = (name: string) => {
    touched.current.add(name);
    if (!pressing.current) check(values);
  };
  const press = () => {
    pressing.current = true;
    const release = () => {
      removeEventListener("pointerup", release);
      removeEventListener("pointercancel", release);
      // After the click (dispatched right after pointerup) has submitted or not.
      setTimeout(() => {
        pressing.current = false;
        check(values);
      }, 0);
    };
    addEventListener("pointerup", release);
    addEventListener("pointercancel", release);
  };
  return (
    <form
      method="post"
      action={editOf ? `/jobs/${editOf}/edit` : "/jobs/new"}
      noValidate
      data-ready={hydrated ? "" : undefined}
      aria-label={editOf ? "Edit and retry a job" : "Create a job"}
      class="space-y-4"
      onSubmit={(e) => {
        submitted.current = true;
        if (!check(values)) {
          e.preventDefault();
          requestAnimationFrame(() =>
            document.querySelector<HTMLElement>("[aria-invalid=true]")?.focus()
          );
        }
      }}
    >
      {errors[""] && <p role="alert" class="text-sm text-red-600">{errors[""]}</p>}
      <div>
        <label for="f-type" class={LABEL}>Type</label>
        <div class="flex gap-2">
          <select
            id="f-type"
            name="type"
            class={`${INPUT} ${errors.type ? INPUT_INVALID : ""} ${
              editOf ? "cursor-not-allowed bg-muted" : ""
            }`}
            aria-invalid={errors.type ? "true" : undefined}
            aria-describedby="f-type-help"
            disabled={Boolean(editOf)}
            onChange={(e) => {
              const t = e.currentTarget.value;
              setType(t);
              setErrors({});
              touched.current.clear();
              submitted.current = false;
              const u = new URL(location.href);
              u.searchParams.set("type", t);
              history.replaceState(null, "", u);
            }}
          >
            {JOB_TYPE_NAMES.map((t) => (
              <option value={t} selected={t === type}>{JOB_TYPES[t].label}</option>
            ))}
          </select>
          {!hydrated && !editOf && (
            <button
              type="submit"
              formMethod="get"
              formAction="/jobs/new"
              formNoValidate
              class={buttonClass("outline")}
            >
              Switch type
            </button>
          )}
        </div>
        <p id="f-type-help" class="mt-1 text-xs text-muted-foreground">
          {def.description}
          {editOf && " A job keeps its type: clone it as new for another."}
        </p>
        <Err name="type" errors={errors} />
      </div>
      <fieldset class="space-y-4 rounded-md border border-border p-4">
        <legend class="px-1 text-sm font-medium">{def.label} payload</legend>
        <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
          {def.fields.map((f) => (
            <div class={f.kind === "textarea" ? "sm:col-span-2" : ""}>
              <label for={idOf(f.name)} class={LABEL}>{f.label}</label>
              <Input
                f={f}
                value={values[f.name] ?? ""}
                error={errors[f.name]}
                onInput={(v) => set(f.name, v)}
                onBlur={() => blur(f.name)}
              />
              {f.help && (
                <p id={idOf(f.name) + "-help"} class="mt-1 text-xs text-muted-foreground">
                  {f.help}
                </p>
              )}
              <Err name={f.name} errors={errors} />
            </div>
          ))}
        </div>
      </fieldset>
      <div class="grid grid-cols-1 gap-4 sm:grid-cols-2">
        <div>
          <label for="f-priority" class={LABEL}>Priority</label>
          <select
            id="f-priority"
            name="priority"
            class={`${INPUT} ${errors.priority ? INPUT_INVALID : ""}`}
            aria-invalid={errors.priority ? "true" : undefined}
            onChange={(e) => set("priority", e.currentTarget.value)}
          >
            {[5, 4, 3, 2, 1].map((p) => (
              <option value={p} selected={String(p) === (values.priority || "3")}>
                {p}
                {p === 5 ? " — highest" : p === 3 ? " — normal" : p === 1 ? " — lowest" : ""}
              </option>
            ))}
          </select>
          <Err name="priority" errors={errors} />
        </div>
        {!editOf && (
          <div>
            <label for="f-scheduled_for" class={LABEL}>Run at (UTC, optional)</label>
            <input
              id="f-scheduled_for"
              name="scheduled_for"
              type="datetime-local"
              value={values.scheduled_for ?? ""}
              class={`${INPUT} ${errors.scheduled_for ? INPUT_INVALID : ""}`}
              aria-invalid={errors.scheduled_for ? "true" : undefined}
              aria-describedby="f-scheduled_for-help"
              onInput={(e) => set("scheduled_for", e.currentTarget.value)}
            />
            <p id="f-scheduled_for-help" class="mt-1 text-xs text-muted-foreground">
              Empty: as soon as a worker is free.
            </p>
            <Err name="scheduled_for" errors={errors} />
          </div>
        )}
        <div>
          <label for="f-queue" class={LABEL}>Queue (optional)</label>
          <input
            id="f-queue"
            name="queue"
            value={values.queue ?? ""}
            placeholder={defaultQueueOf(type)}
            class={`${INPUT} ${errors.queue ? INPUT_INVALID : ""}`}
            aria-invalid={errors.queue ? "true" : undefined}
            aria-describedby="f-queue-help"
            onInput={(e) => set("queue", e.currentTarget.value)}
          />
          <p id="f-queue-help" class="mt-1 text-xs text-muted-foreground">
            Empty: the type's default queue.
          </p>
          <Err name="queue" errors={errors} />
        </div>
        {!editOf && (
          <div>
            <label for="f-unique_key" class={LABEL}>Unique key (optional)</label>
            <input
              id="f-unique_key"
              name="unique_key"
              type="text"
              maxLength={255}
              value={values.unique_key ?? ""}
              class={`${INPUT} ${errors.unique_key ? INPUT_INVALID : ""}`}
              aria-invalid={errors.unique_key ? "true" : undefined}
              aria-describedby="f-unique_key-help"
              onInput={(e) => set("unique_key", e.currentTarget.value)}
            />
            <p id="f-unique_key-help" class="mt-1 text-xs text-muted-foreground">
              While a pending or running job has this key, no second one is created.
            </p>
            <Err name="unique_key" errors={errors} />
          </div>
        )}
        {!editOf && (
          <div>
            <label for="f-timeout_seconds" class={LABEL}>Timeout in seconds (optional)</label>
            <input
              id="f-timeout_seconds"
              name="timeout_seconds"
              type="number"
              min={1}
              max={86400}
              step={1}
              value={values.timeout_seconds ?? ""}
              class={`${INPUT} ${errors.timeout_seconds ? INPUT_INVALID : ""}`}
              aria-invalid={errors.timeout_seconds ? "true" : undefined}
              aria-describedby="f-timeout_seconds-help"
              onInput={(e) => set("timeout_seconds", e.currentTarget.value)}
            />
            <p id="f-timeout_seconds-help" class="mt-1 text-xs text-muted-foreground">
              Empty: the type's timeout ({def.timeoutSeconds} s) for each attempt.
            </p>
            <Err name="timeout_seconds" errors={errors} />
          </div>
        )}
        {!editOf && (
          <div>
            <label for="f-expires_at" class={LABEL}>Expires at (UTC, optional)</label>
            <input
              id="f-expires_at"
              name="expires_at"
              type="datetime-local"
              value={values.expires_at ?? ""}
              class={`${INPUT} ${errors.expires_at ? INPUT_INVALID : ""}`}
              aria-invalid={errors.expires_at ? "true" : undefined}
              aria-describedby="f-expires_at-help"
              onInput={(e) => set("expires_at", e.currentTarget.value)}
            />
            <p id="f-expires_at-help" class="mt-1 text-xs text-muted-foreground">
              Not started by then: cancelled, never run.
            </p>
            <Err name="expires_at" errors={errors} />
          </div>
        )}
      </div>
      <div class="flex items-center gap-2">
        <button type="submit" class={buttonClass("primary")} onPointerDown={press}>
          {editOf ? "Retry with these values" : "Create job"}
        </button>
        <a href={editOf ? `/jobs/${editOf}` : "/jobs"} class={buttonClass("ghost")}>Cancel</a>
      </div>
    </form>
  );
}
