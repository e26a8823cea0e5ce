/**
 * Island prop serialisation, shared by the server (which writes props into
 * the page) and the browser (which reads them back before hydrating).
 * Supported: JSON primitives, `undefined`, arrays, plain objects, `Date`,
 * `URL`, `Map`, `Set`, `BigInt` and signals of those. Anything else —
 * functions, class instances, JSX — is refused with an {@link IslandPropsError}
 * naming the island and the property path. Browser-safe.
 */
import { Signal, signal } from "@preact/signals";

/** A prop that cannot travel to the browser. */
export class IslandPropsError extends Error {
  override name = "IslandPropsError";
}

const TAG = "$t";

function encode(value: unknown, path: string, seen: Set<object>): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    return Number.isFinite(value) ? value : { [TAG]: "Number", v: String(value) };
  }
  if (value === undefined) return { [TAG]: "Undefined" };
  if (typeof value === "bigint") return { [TAG]: "BigInt", v: value.toString() };
  if (typeof value === "function") {
    throw new IslandPropsError(
      `${path} is a function; islands take data only (pass an id or a URL)`,
    );
  }
  if (typeof value !== "object") {
    throw new IslandPropsError(`${path} is a ${typeof value}, which cannot be serialised`);
  }
  if (seen.has(value)) throw new IslandPropsError(`${path} refers to itself (a cycle)`);
  seen.add(value);
  try {
    if (value instanceof Date) return { [TAG]: "Date", v: value.toISOString() };
    if (value instanceof URL) return { [TAG]: "URL", v: value.href };
    if (value instanceof Signal) {
      return { [TAG]: "Signal", v: encode(value.peek(), `${path}.value`, seen) };
    }
    if (value instanceof Map) {
      return {
        [TAG]: "Map",
        v: [...value].map(([k, v], i) => [
          encode(k, `${path}[key ${i}]`, seen),
          encode(v, `${path}[${String(k)}]`, seen),
        ]),
      };
    }
    if (value instanceof Set) {
      return { [TAG]: "Set", v: [...value].map((v, i) => encode(v, `${path}[${i}]`, seen)) };
    }
    if (Array.isArray(value)) return value.map((v, i) => encode(v, `${path}[${i}]`, seen));
    const proto = Object.getPrototypeOf(value);
    if ("__k" in value || "$$typeof" in value || ("type" in value && "props" in value)) {
      throw new IslandPropsError(`${path} is JSX; islands take data only`);
    }
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? "unknown";
      throw new IslandPropsError(
        `${path} is an instance of ${name}; islands take plain data (objects, arrays, Date, URL, Map, Set)`,
      );
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v, `${path}.${k}`, seen);
    return TAG in out ? { [TAG]: "Object", v: out } : out;
  } finally {
    seen.delete(value);
  }
}

function decode(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decode);
  if (value === null || typeof value !== "object") return value;
  const o = value as Record<string, unknown>;
  switch (o[TAG]) {
    case "Undefined":
      return undefined;
    case "Number":
      return Number(o.v);
    case "BigInt":
      return BigInt(o.v as string);
    case "Date":
      return new Date(o.v as string);
    case "URL":
      return new URL(o.v as string);
    case "Signal":
      return signal(decode(o.v));
    case "Map":
      return new Map((o.v as [unknown, unknown][]).map(([k, v]) => [decode(k), decode(v)]));
    case "Set":
      return new Set((o.v as unknown[]).map(decode));
    case "Object": {
      const inner = o.v as Record<string, unknown>;
      return Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, decode(v)]));
    }
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decode(v)]));
}

/**
 * Serialises an island's props to JSON text that is safe inside a `<script>`
 * element (`<`, `>`, `&` and line separators escaped). Throws
 * {@link IslandPropsError} for values that cannot be revived in the browser.
 */
export function serializeProps(island: string, props: Record<string, unknown>): string {
  const encoded: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    if (k === "children" && v !== undefined) {
      throw new IslandPropsError(`island ${island}: props.children is JSX; islands take data only`);
    }
    if (k === "children" || k === "key" || k === "ref") continue;
    try {
      encoded[k] = encode(v, `props.${k}`, new Set());
    } catch (err) {
      if (err instanceof IslandPropsError) {
        throw new IslandPropsError(`island ${island}: ${err.message}`);
      }
      throw err;
    }
  }
  return JSON.stringify(encoded).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Revives props written by {@link serializeProps}. */
export function deserializeProps(text: string): Record<string, unknown> {
  return decode(JSON.parse(text)) as Record<string, unknown>;
}

/** Revives one island's already-parsed props (see {@link deserializeProps}). */
export function reviveProps(encoded: unknown): Record<string, unknown> {
  return (decode(encoded) ?? {}) as Record<string, unknown>;
}
