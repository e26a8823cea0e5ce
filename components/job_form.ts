/**
 * The create-job form's data: form fields (flat strings, nested payload
 * fields dotted like `date_range.from`) to the body `createJobSchema`
 * checks, and validation issues back to field names. Used by the server
 * route and the JobForm island, so both validate the same way.
 */
import { createJobSchema, type FieldIssue, fieldIssues, JOB_TYPES } from "@/lib/jobs/mod.ts";

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
 * `datetime-local` value read as UTC; left out when empty) and the payload
 * built from the chosen type's fields. An unknown type gets an empty payload.
 */
export function formToJob(values: FormValues): Record<string, unknown> {
  const type = values.type ?? "";
  const out: Record<string, unknown> = { type };
  const pr = (values.priority ?? "").trim();
  if (pr !== "") out.priority = /^[1-5]$/.test(pr) ? Number(pr) : pr;
  const at = (values.scheduled_for ?? "").trim();
  if (at !== "") {
    out.scheduled_for = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(at)
      ? at + ":00Z"
      : /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(at)
      ? at + "Z"
      : at;
  }
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

/** Validates form values with the API's schema: the parsed body, or the errors by field. */
export function validateForm(
  values: FormValues,
): { ok: true; job: ReturnType<typeof createJobSchema.parse> } | { ok: false; errors: FormErrors } {
  const r = createJobSchema.safeParse(formToJob(values));
  return r.success
    ? { ok: true, job: r.data }
    : { ok: false, errors: errorsByField(fieldIssues(r.error)) };
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
