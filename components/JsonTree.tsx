/**
 * A JSON value as nested, collapsible, syntax-coloured markup: objects and
 * arrays are `<details>` (collapsible without JavaScript), long strings are
 * folded behind their first characters. Every value is text, escaped by
 * Preact — never HTML. Browser-safe (the JsonViewer island renders it too).
 */

/** Strings longer than this are folded. */
export const FOLD_AT = 160;

const KEY = "text-sky-800 dark:text-sky-300";
const STR = "text-emerald-700 dark:text-emerald-400";
const NUM = "text-amber-700 dark:text-amber-400";
const LIT = "text-violet-700 dark:text-violet-400";

function Str({ s }: { s: string }) {
  if (s.length <= FOLD_AT) return <span class={`${STR} whitespace-pre-wrap break-all`}>"{s}"</span>;
  return (
    <details class="inline" data-fold>
      <summary class="inline cursor-pointer list-none [&::-webkit-details-marker]:hidden">
        <span class={`${STR} whitespace-pre-wrap break-all`}>"{s.slice(0, FOLD_AT)}…"</span>
        <span class="ml-1 rounded bg-muted px-1 text-xs text-muted-foreground">
          +{(s.length - FOLD_AT).toLocaleString("en-US")} chars
        </span>
      </summary>
      <span class={`${STR} whitespace-pre-wrap break-all`}>"{s}"</span>
    </details>
  );
}

/** One JSON value; `depth` decides which levels start open (the first two). */
export function JsonNode(
  { value, depth = 0, name }: { value: unknown; depth?: number; name?: string },
) {
  const label = name !== undefined && (
    <span class={KEY}>
      "{name}"<span class="text-muted-foreground">:</span>
    </span>
  );
  if (value === null || typeof value !== "object") {
    let v;
    if (typeof value === "string") v = <Str s={value} />;
    else if (typeof value === "number") v = <span class={NUM}>{String(value)}</span>;
    else if (typeof value === "boolean") v = <span class={LIT}>{String(value)}</span>;
    else v = <span class={`${LIT} italic`}>null</span>;
    return <div class="pl-4">{label}{v}</div>;
  }
  const isArray = Array.isArray(value);
  const entries = isArray
    ? (value as unknown[]).map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    return (
      <div class="pl-4">
        {label}
        <span class="text-muted-foreground">{open}{close}</span>
      </div>
    );
  }
  return (
    <details open={depth < 2} class="pl-4" data-json-node>
      <summary class="-ml-4 flex cursor-pointer list-none items-baseline rounded-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring [&::-webkit-details-marker]:hidden">
        <span
          aria-hidden="true"
          class="inline-block w-4 shrink-0 text-center text-muted-foreground transition-transform [[open]>summary>&]:[transform:rotate(90deg)]"
        >
          ▸
        </span>
        {label}
        <span class="text-muted-foreground">{open}</span>
        <span class="ml-1 text-xs text-muted-foreground">
          {entries.length} {isArray
            ? (entries.length === 1 ? "item" : "items")
            : (entries.length === 1 ? "key" : "keys")}
        </span>
      </summary>
      {entries.map(([k, v]) => (
        <JsonNode value={v} depth={depth + 1} name={isArray ? undefined : k} />
      ))}
      <div class="-ml-4 pl-4 text-muted-foreground">{close}</div>
    </details>
  );
}

/** A whole JSON document in a scrollable monospace block. */
export function JsonTree({ value }: { value: unknown }) {
  return (
    <div class="overflow-x-auto font-mono text-xs leading-relaxed" data-json-tree>
      <JsonNode value={value} />
    </div>
  );
}
