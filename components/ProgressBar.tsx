/** A job's progress (`{percent, message}`) as a bar with its message; browser-safe. */

/** Props of {@link ProgressBar}. */
export interface ProgressBarProps {
  percent: number;
  message: string | null;
  /** Compact: a thin bar and the percent only (list rows). */
  compact?: boolean;
}

export function ProgressBar({ percent, message, compact = false }: ProgressBarProps) {
  const pct = Math.max(0, Math.min(100, percent));
  const label = `${pct.toLocaleString("en-US", { maximumFractionDigits: 1 })} %`;
  return (
    <div class={compact ? "flex items-center gap-1.5" : "space-y-1"} data-progress={pct}>
      <div
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={message ? `${label}: ${message}` : label}
        class={`overflow-hidden rounded-full bg-muted ${compact ? "h-1.5 w-16" : "h-2 w-full"}`}
      >
        <div class="h-full rounded-full bg-primary transition-all" style={{ width: `${pct}%` }} />
      </div>
      {compact
        ? <span class="text-xs tabular-nums text-muted-foreground">{label}</span>
        : (
          <div class="flex justify-between gap-2 text-xs text-muted-foreground">
            <span class="truncate" data-progress-message>{message ?? ""}</span>
            <span class="tabular-nums">{label}</span>
          </div>
        )}
    </div>
  );
}
