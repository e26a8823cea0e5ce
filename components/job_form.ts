/**
 * The create-job form's data: form fields (flat strings, nested payload
 * fields dotted like `date_range.from`) to the body `createJobSchema`
 * checks, and validation issues back to field names. Used by the server
 * route and the JobForm island, so both validate the same way.
 */
import {
  createJobSchema,
  type FieldIssue,
  fieldIssues,
  type FormField,
  JOB_TYPES,
} from "@/lib/jobs/mod.ts";

/** Form values by field name. */
export type FormValues = Record<string, string>;
/** Error message by field name ("" for the form as a whole). */
export type FormErrors = Record<string, string>;

/** Sets `obj[a][b]…` for the dotted `name`. */
function setPath(obj: Record<string, unknown>, name: string, value: unknown) {
  const parts = name.split(".");
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    o[p] = typeof o[p] === "object" && o[p] !== null ? o[p] : {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = value;
}

/**
 * The create body for `values`: `type`, `priority` (a number when it is one
 * of 1–5, else the text so the schema reports it), `scheduled_for` (a
 * `datetime-local` value read as UTC; left out when empty), `queue` (else
 * the type's default queue), the optional `unique_key`, `timeout_seconds`
 * (a number when it is all digits, else the text) and `expires_at` (as
 * `scheduled_for`), each left out when empty, and the payload built from
 * the chosen type's fields. An unknown type gets an empty payload.
 */
export function formToJob(values: FormValues): Record<string, unknown> {
  const type = values.type ?? "";
  const out: Record<string, unknown> = { type };
  const pr = (values.priority ?? "").trim();
  if (pr !== "") out.priority = /^[1-5]$/.test(pr) ? Number(pr) : pr;
  for (const name of ["scheduled_for", "expires_at"]) {
    const at = (values[name] ?? "").trim();
    if (at === "") continue;
    out[name] = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(at)
      ? at + ":00Z"
      : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(at)
      ? at + "Z"
      : at;
  }
  const queue = (values.queue ?? "").trim();
  if (queue !== "") out.queue = queue;
  const key = values.unique_key ?? "";
  if (key.trim() !== "") out.unique_key = key;
  const secs = (values.timeout_seconds ?? "").trim();
  if (secs !== "") out.timeout_seconds = /^\d{1,9}$/.test(secs) ? Number(secs) : secs;
  const payload: Record<string, unknown> = {};
  for (const f of JOB_TYPES[type]?.fields ?? []) setPath(payload, f.name, values[f.name] ?? "");
  out.payload = payload;
  return out;
}

/** Field name of an issue path: `payload.date_range.to` → `date_range.to`; the body itself → "". */
export function fieldOf(path: string): string {
  if (path === "payload") return "";
  return path.startsWith("payload.") ? path.slice("payload.".length) : path;
}

/** The first message per field. */
export function errorsByField(issues: FieldIssue[]): FormErrors {
  const out: FormErrors = {};
  for (const i of issues) {
    const f = fieldOf(i.path);
    out[f] ??= i.message;
  }
  return out;
}

/** The form's own fields (the payload's come from the job type), as a person reads them. */
const FORM_FIELDS: readonly Pick<FormField, "name" | "label" | "kind">[] = [
  { name: "type", label: "Type", kind: "select" },
  { name: "priority", label: "Priority", kind: "select" },
  { name: "scheduled_for", label: "Run at", kind: "text" },
  { name: "queue", label: "Queue", kind: "text" },
  { name: "unique_key", label: "Unique key", kind: "text" },
  { name: "timeout_seconds", label: "Timeout", kind: "text" },
  { name: "expires_at", label: "Expires at", kind: "text" },
];

/** The fields next to `name` (same parent: the form's own, or one payload object), with it. */
function siblingsOf(
  type: string,
  name: string,
): readonly Pick<FormField, "name" | "label" | "kind">[] {
  if (FORM_FIELDS.some((f) => f.name === name)) return FORM_FIELDS;
  const parent = name.slice(0, name.lastIndexOf(".") + 1);
  return (JOB_TYPES[type]?.fields ?? []).filter((f) =>
    f.name.startsWith(parent) && !f.name.slice(parent.length).includes(".")
  );
}

const lastKey = (name: string) => name.slice(name.lastIndexOf(".") + 1);

/**
 * An API message (which names fields by key: "to must be an email address")
 * made to read beside field `name` of a form for `type`: an empty field is
 * required, a select asks for a choice, and the keys of the field and its
 * neighbours become their labels ("From must be on or before To"); a message
 * naming no field gets the label in front. A field the form does not show
 * keeps the message as it is.
 */
export function formMessage(type: string, name: string, message: string, value = ""): string {
  const siblings = siblingsOf(type, name);
  const field = siblings.find((f) => f.name === name);
  if (!field) return message;
  if (field.kind === "select") {
    return `Choose ${/^[aeiou]/i.test(field.label) ? "an" : "a"} ${field.label.toLowerCase()}`;
  }
  if (value.trim() === "") return `${field.label} is required`;
  let named = false;
  let out = message;
  for (const f of siblings) {
    const key = lastKey(f.name).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(
      new RegExp(`(^|[^\\w.])${key}(?![\\w.])`, "g"),
      (_m, pre: string, at: number) => {
        if (at === 0) named = true;
        return pre + f.label;
      },
    );
  }
  return named ? out : `${field.label}: ${out}`;
}

/**
 * Validates form values with the API's schema: the parsed body, or the
 * errors by field, worded for a person (see {@link formMessage}).
 */
export function validateForm(
  values: FormValues,
): { ok: true; job: ReturnType<typeof createJobSchema.parse> } | { ok: false; errors: FormErrors } {
  const r = createJobSchema.safeParse(formToJob(values));
  if (r.success) return { ok: true, job: r.data };
  const errors = errorsByField(fieldIssues(r.error));
  for (const [name, message] of Object.entries(errors)) {
    errors[name] = formMessage(values.type ?? "", name, message, values[name] ?? "");
  }
  return { ok: false, errors };
}

/** A payload flattened to dotted field values (for "clone as new"). */
export function payloadToValues(type: string, payload: unknown): FormValues {
  const out: FormValues = {};
  for (const f of JOB_TYPES[type]?.fields ?? []) {
    let v: unknown = payload;
    for (const p of f.name.split(".")) v = (v as Record<string, unknown> | null)?.[p];
    if (typeof v === "string" || typeof v === "number") out[f.name] = String(v);
  }
  return out;
}
