/**
 * The schedule create/edit form (server-rendered; posts urlencoded, works
 * without JavaScript). A schedule from the file shows its fields read-only.
 */
import { JOB_TYPE_NAMES } from "@/lib/jobs/mod.ts";
import { buttonClass, INPUT, INPUT_INVALID, LABEL } from "@/components/ui.tsx";
import type { ScheduleErrors, ScheduleValues } from "@/components/schedule_form.ts";

/** Props of {@link ScheduleForm}. */
export interface ScheduleFormProps {
  /** Where the form posts. */
  action: string;
  values: ScheduleValues;
  errors: ScheduleErrors;
  /** Editing an existing schedule (its name cannot change). */
  edit?: boolean;
  /** Declared in the schedules file: shown, not editable. */
  readOnly?: boolean;
}

function Errors({ name, errors }: { name: string; errors: ScheduleErrors }) {
  const list = errors[name];
  if (!list?.length) return null;
  return (
    <ul id={`err-${name}`} class="mt-1 space-y-0.5 text-xs text-red-600" data-error={name}>
      {list.map((m) => <li key={m}>{m}</li>)}
    </ul>
  );
}

function Input(
  props: {
    name: string;
    label: string;
    values: ScheduleValues;
    errors: ScheduleErrors;
    help?: string;
    placeholder?: string;
    readOnly?: boolean;
    mono?: boolean;
  },
) {
  const bad = Boolean(props.errors[props.name]?.length);
  return (
    <div>
      <label class={LABEL} for={`f-${props.name}`}>{props.label}</label>
      <input
        id={`f-${props.name}`}
        name={props.name}
        value={props.values[props.name] ?? ""}
        placeholder={props.placeholder}
        readOnly={props.readOnly}
        aria-invalid={bad || undefined}
        aria-describedby={bad ? `err-${props.name}` : undefined}
        class={`${INPUT} ${props.mono ? "font-mono" : ""} ${bad ? INPUT_INVALID : ""}`}
      />
      {props.help && <p class="mt-1 text-xs text-muted-foreground">{props.help}</p>}
      <Errors name={props.name} errors={props.errors} />
    </div>
  );
}

/** The form. */
export function ScheduleForm(p: ScheduleFormProps) {
  const { values, errors } = p;
  const ro = p.readOnly ?? false;
  return (
    <form method="post" action={p.action} class="space-y-3 px-4 py-3" noValidate>
      <input type="hidden" name="action" value="save" />
      {errors[""]?.length
        ? (
          <ul role="alert" class="text-sm text-red-600" data-error="">
            {errors[""].map((m) => <li key={m}>{m}</li>)}
          </ul>
        )
        : null}
      <fieldset disabled={ro} class="grid grid-cols-1 gap-3 sm:grid-cols-2">
        <Input
          name="name"
          label="Name"
          values={values}
          errors={errors}
          readOnly={p.edit}
          placeholder="nightly-report"
          help={p.edit ? undefined : "a-z, 0-9, _ and -; starts with a letter"}
        />
        <Input
          name="cron"
          label="Cron"
          values={values}
          errors={errors}
          mono
          placeholder="0 7 * * 1-5"
          help="minute hour day month weekday, or @hourly, @daily, @weekly, @monthly, @yearly"
        />
        <Input
          name="timezone"
          label="Time zone"
          values={values}
          errors={errors}
          placeholder="UTC"
          help="IANA name, e.g. Europe/Berlin"
        />
        <div>
          <label class={LABEL} for="f-type">Job type</label>
          <select id="f-type" name="type" class={INPUT}>
            {JOB_TYPE_NAMES.map((t) => (
              <option key={t} value={t} selected={values.type === t}>{t}</option>
            ))}
          </select>
          <Errors name="type" errors={errors} />
        </div>
        <Input name="priority" label="Priority (1–5)" values={values} errors={errors} />
        <Input
          name="queue"
          label="Queue"
          values={values}
          errors={errors}
          placeholder="default"
          help="empty: the type's default queue"
        />
        <Input name="max_attempts" label="Max attempts" values={values} errors={errors} />
        <div class="flex items-center gap-2 pt-6">
          <input
            id="f-enabled"
            type="checkbox"
            name="enabled"
            checked={values.enabled === "on"}
          />
          <label for="f-enabled" class="text-sm">Enabled</label>
        </div>
        <div class="sm:col-span-2">
          <label class={LABEL} for="f-payload">Payload (JSON)</label>
          <textarea
            id="f-payload"
            name="payload"
            rows={6}
            aria-invalid={errors.payload?.length ? true : undefined}
            aria-describedby={errors.payload?.length ? "err-payload" : undefined}
            class={`${INPUT} font-mono text-xs ${errors.payload?.length ? INPUT_INVALID : ""}`}
          >
            {values.payload ?? ""}
          </textarea>
          <Errors name="payload" errors={errors} />
        </div>
      </fieldset>
      {!ro && (
        <div class="flex justify-end">
          <button type="submit" class={buttonClass("primary")}>
            {p.edit ? "Save changes" : "Create schedule"}
          </button>
        </div>
      )}
    </form>
  );
}
