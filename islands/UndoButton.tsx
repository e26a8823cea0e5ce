/**
 * The Undo button shown after a bulk cancel or retry: a POST form (works
 * without JavaScript while the offer lasts). Hydrated, it counts down the
 * seconds left and goes away when the offer ends.
 */
import { useEffect, useState } from "preact/hooks";
import { useHydrated } from "@/lib/web/runtime.ts";
import { buttonClass } from "@/components/ui.tsx";

/** Props of {@link UndoButton}. */
export interface UndoButtonProps {
  /** The offer's id (`undo.id` of the bulk action). */
  id: string;
  /** When the offer ends (ms since the epoch). */
  until: number;
  /** Where to come back to (the list with its filters). */
  back: string;
}

export default function UndoButton({ id, until, back }: UndoButtonProps) {
  const hydrated = useHydrated();
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = now === null ? null : Math.ceil((until - now) / 1000);
  if (left !== null && left <= 0) return <span hidden data-ready data-undo-ended />;
  return (
    <form
      method="post"
      action="/jobs"
      class="inline-flex items-center gap-2"
      data-undo
      data-ready={hydrated ? "" : undefined}
    >
      <input type="hidden" name="action" value="undo" />
      <input type="hidden" name="undo" value={id} />
      <input type="hidden" name="back" value={back} />
      <button type="submit" class={buttonClass("outline", "h-7 px-2.5 text-xs")}>
        Undo
      </button>
      <span class="text-xs opacity-75" data-undo-left>
        {left === null
          ? `until ${new Date(until).toISOString().slice(11, 19)} UTC`
          : `${left} s left`}
      </span>
    </form>
  );
}
