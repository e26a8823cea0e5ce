/**
 * The pieces of the `/health` page: a level badge (ok / warn / bad), a
 * figure tile (label, value, level, one-line meaning), and the legend of a
 * table's columns. Server-rendered (pure formatting from
 * lib/queue/health_levels.ts).
 */
import type { ComponentChildren } from "preact";
import type { Figure, Level } from "@/lib/queue/health_levels.ts";

const LEVEL_CLASS: Record<Level, string> = {
  ok:
    "bg-emerald-100 text-emerald-800 ring-emerald-600/20 dark:bg-emerald-900/40 dark:text-emerald-300",
  warn: "bg-amber-100 text-amber-900 ring-amber-600/30 dark:bg-amber-900/40 dark:text-amber-200",
  bad: "bg-red-100 text-red-800 ring-red-600/30 dark:bg-red-900/40 dark:text-red-300",
};

const LEVEL_DOT: Record<Level, string> = {
  ok: "bg-emerald-500",
  warn: "bg-amber-500",
  bad: "bg-red-500",
};

/** What each level means, for screen readers and hover. */
export const LEVEL_WORD: Record<Level, string> = {
  ok: "ok",
  warn: "worth a look",
  bad: "act now",
};

/** A coloured pill holding a value (or the level's name), the meaning on hover. */
export function LevelBadge(
  { level, title, children }: { level: Level; title?: string; children?: ComponentChildren },
) {
  return (
    <span
      class={`relative inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium tabular-nums ring-1 ring-inset ${
        LEVEL_CLASS[level]
      }`}
      title={title}
      data-level={level}
    >
      <span class={`h-1.5 w-1.5 rounded-full ${LEVEL_DOT[level]}`} aria-hidden="true" />
      {children ?? level}
      {children !== undefined && <span class="sr-only">({LEVEL_WORD[level]})</span>}
    </span>
  );
}

/** One figure as a tile: its label, the value in a badge, and its meaning below. */
export function FigureTile<T>(
  { label, figure, shown, id }: { label: string; figure: Figure<T>; shown: string; id: string },
) {
  return (
    <div class="min-w-0 rounded-md border border-border p-3" data-figure={id}>
      <div class="flex flex-wrap items-center justify-between gap-2">
        <span class="text-xs font-medium text-muted-foreground">{label}</span>
        <LevelBadge level={figure.level} title={figure.meaning}>{shown}</LevelBadge>
      </div>
      <p class="mt-1.5 text-xs text-muted-foreground" data-meaning>{figure.meaning}</p>
    </div>
  );
}

/** A badge cell of a table: the value coloured by the figure's level, its meaning on hover. */
export function FigureCell<T>(
  { figure, shown, name }: { figure: Figure<T>; shown: string; name: string },
) {
  return (
    <td class="px-3 py-2 text-right" data-cell={name}>
      <LevelBadge level={figure.level} title={figure.meaning}>{shown}</LevelBadge>
    </td>
  );
}

/** One line per column: what it means and where it turns warn or bad. */
export function Legend({ items }: { items: [string, string][] }) {
  return (
    <dl class="grid gap-x-3 gap-y-1 border-t border-border px-4 py-2.5 text-xs text-muted-foreground sm:grid-cols-[max-content_1fr]">
      {items.map(([term, meaning]) => (
        <>
          <dt class="font-medium text-foreground">{term}</dt>
          <dd class="mb-1 sm:mb-0">{meaning}</dd>
        </>
      ))}
    </dl>
  );
}

/** Table header cell. */
export function Th(
  { children, right = false }: { children: ComponentChildren; right?: boolean },
) {
  return (
    <th scope="col" class={`px-3 py-2 font-medium ${right ? "text-right" : ""}`}>
      {children}
    </th>
  );
}
