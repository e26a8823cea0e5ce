/**
 * The actions of one job as POST forms (cancel when pending or running, retry when
 * failed or cancelled, clone as new, delete unless running), and, when failed or
 * cancelled, a link to edit and retry it (`/jobs/:id/edit`); they work without
 * JavaScript. Hydrated, each destructive one asks for confirmation.
 */
import { Fragment } from "preact";
import { useHydrated } from "@/lib/web/runtime.ts";
import { buttonClass } from "@/components/ui.tsx";

/** Props of {@link JobActions}. */
export interface JobActionsProps {
  id: string;
  status: string;
  /** A running job's cancel was already requested (its button says so and is disabled). */
  cancelRequested?: boolean;
}

const CONFIRM: Record<string, string> = {
  cancel: "Cancel this job? It will not run (a running one is stopped).",
  retry: "Retry this job? It goes back to pending with a fresh set of attempts.",
  delete: "Delete this job and its history? This cannot be undone.",
};

export default function JobActions({ id, status, cancelRequested = false }: JobActionsProps) {
  const hydrated = useHydrated();
  const stopping = status === "processing" && cancelRequested;
  const actions = [
    (status === "pending" || status === "processing") &&
    { value: "cancel", label: stopping ? "Cancelling…" : "Cancel", variant: "outline" as const },
    (status === "failed" || status === "cancelled") &&
    { value: "retry", label: "Retry", variant: "primary" as const },
    { value: "clone", label: "Clone as new", variant: "outline" as const },
    status !== "processing" &&
    { value: "delete", label: "Delete", variant: "destructive" as const },
  ].filter((
    a,
  ): a is { value: string; label: string; variant: "outline" | "primary" | "destructive" } =>
    Boolean(a)
  );
  return (
    <div class="flex flex-wrap gap-2" data-ready={hydrated ? "" : undefined}>
      {actions.map((a) => (
        <Fragment key={a.value}>
          <form
            method="post"
            action={`/jobs/${id}`}
            onSubmit={(e) => {
              if (CONFIRM[a.value] && !confirm(CONFIRM[a.value])) e.preventDefault();
            }}
          >
            <input type="hidden" name="action" value={a.value} />
            <button
              type="submit"
              class={buttonClass(a.variant)}
              disabled={a.value === "cancel" && stopping}
            >
              {a.label}
            </button>
          </form>
          {a.value === "retry" && (
            <a href={`/jobs/${id}/edit`} class={buttonClass("outline")} data-action="edit">
              Edit and retry
            </a>
          )}
        </Fragment>
      ))}
    </div>
  );
}
