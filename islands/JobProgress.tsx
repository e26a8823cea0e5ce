/**
 * A job's progress on its page: the bar and message as rendered by the
 * server; hydrated and while the job runs, it follows `/api/events` and
 * re-reads the job's `progress` (progress does not change `updated_at`, so
 * the page itself is not reloaded for it). Says when a cancel was requested.
 */
import { useEffect, useState } from "preact/hooks";
import { useHydrated } from "@/lib/web/runtime.ts";
import { apiJson, onJobsChanged } from "@/lib/browser/api.ts";
import { Card } from "@/components/ui.tsx";
import { ProgressBar } from "@/components/ProgressBar.tsx";

/** A job's stored progress. */
export interface ProgressValue {
  percent: number;
  message: string | null;
  at: string;
}

/** Props of {@link JobProgress}. */
export interface JobProgressProps {
  jobId: string;
  /** True while the job runs: follow changes. */
  live: boolean;
  progress: ProgressValue | null;
  cancelRequestedAt: string | null;
}

export default function JobProgress(props: JobProgressProps) {
  const hydrated = useHydrated();
  const [progress, setProgress] = useState(props.progress);
  const [cancelAt, setCancelAt] = useState(props.cancelRequestedAt);
  useEffect(() => {
    if (!props.live) return;
    let busy = false;
    const refresh = async () => {
      if (busy) return;
      busy = true;
      try {
        const job = await apiJson<
          { progress: ProgressValue | null; cancel_requested_at: string | null }
        >(`/api/jobs/${props.jobId}`);
        setProgress(job.progress);
        setCancelAt(job.cancel_requested_at);
      } catch (err) {
        console.warn("progress refresh failed", err);
      } finally {
        busy = false;
      }
    };
    return onJobsChanged(refresh);
  }, [props.jobId, props.live]);
  // `data-ready` on the island's first element: what tests and tools wait for.
  return (
    <div data-job-progress data-ready={hydrated ? "" : undefined}>
      <Card class="mb-3">
        <div class="px-4 py-3">
          <div class="mb-1 text-xs font-medium text-muted-foreground">Progress</div>
          {progress
            ? <ProgressBar percent={progress.percent} message={progress.message} />
            : <p class="text-sm text-muted-foreground">No progress reported yet.</p>}
          {cancelAt && props.live && (
            <p class="mt-1 text-xs text-amber-700 dark:text-amber-300" data-cancel-requested>
              Cancel requested; waiting for the handler to stop.
            </p>
          )}
        </div>
      </Card>
    </div>
  );
}
