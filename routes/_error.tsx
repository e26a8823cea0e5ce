/** The page for every error status of pages (404 from handlers, 409, 500, 503, …). */
import { define } from "@/utils.ts";
import { HttpError } from "fresh";
import { buttonClass } from "@/components/ui.tsx";
import { errorHeading } from "@/components/format.ts";

export default define.page(({ error, state }) => {
  const status = error instanceof HttpError ? error.status : 500;
  const message = error instanceof HttpError ? error.message : "something went wrong on our side";
  return (
    <div class="mx-auto max-w-md py-16 text-center">
      <p class="text-sm font-semibold text-muted-foreground">{status}</p>
      <h1 class="mt-1 text-2xl font-semibold tracking-tight">{errorHeading(status)}</h1>
      <p class="mt-2 text-sm text-muted-foreground">{message}</p>
      {state.requestId && (
        <p class="mt-2 text-xs text-muted-foreground">
          Request id <code class="font-mono">{state.requestId}</code>
        </p>
      )}
      <div class="mt-6 flex justify-center gap-2">
        <a href="/" class={buttonClass("primary")}>Dashboard</a>
        <a href="/jobs" class={buttonClass("outline")}>All jobs</a>
      </div>
    </div>
  );
});
