/** Checking that a handler's result can be stored as JSON, and saying where it cannot. */
import { hasUnstorableChars } from "../lib/jobs/storable.ts";

/** A result that cannot be stored; the message names the offending path. */
export class NotSerialisableError extends Error {
  override name = "NotSerialisableError";
}

/**
 * Returns `value` as plain JSON data (`undefined` → `null`, `Date` → ISO
 * text, objects with `toJSON` through it, `undefined` properties dropped as
 * `JSON.stringify` does). Throws {@link NotSerialisableError} naming the path
 * of the first function, symbol, bigint, non-finite number, circular
 * reference, class instance (Map, Set, bytes, …) or unstorable string.
 */
export function toJsonResult(value: unknown): unknown {
  // Most handlers return nothing or a small flat value: no walk for those.
  if (value === undefined || value === null || typeof value === "boolean") return value ?? null;
  return walk(value, "result", new Set());
}

function walk(v: unknown, path: string, seen: Set<object>): unknown {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "string") {
    if (hasUnstorableChars(v)) {
      throw new NotSerialisableError(`${path} holds a NUL byte or a lone surrogate`);
    }
    return v;
  }
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new NotSerialisableError(`${path} is ${v}`);
    return v;
  }
  if (typeof v === "undefined") return null;
  if (typeof v === "function") throw new NotSerialisableError(`${path} is a function`);
  if (typeof v === "symbol") throw new NotSerialisableError(`${path} is a symbol`);
  if (typeof v === "bigint") throw new NotSerialisableError(`${path} is a bigint`);
  const obj = v as object;
  if (seen.has(obj)) throw new NotSerialisableError(`${path} is a circular reference`);
  if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
    return walk((obj as { toJSON(): unknown }).toJSON(), path, seen);
  }
  seen.add(obj);
  try {
    if (Array.isArray(obj)) return obj.map((x, i) => walk(x, `${path}[${i}]`, seen));
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? "object";
      throw new NotSerialisableError(`${path} is a ${name}, not plain JSON data`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(obj)) {
      if (x === undefined) continue;
      if (hasUnstorableChars(k)) {
        throw new NotSerialisableError(`${path} has a key with a NUL byte or a lone surrogate`);
      }
      out[k] = walk(x, `${path}.${k}`, seen);
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}
