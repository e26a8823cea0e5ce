/** The page for URLs with no route. */
import { define } from "@/utils.ts";
import { buttonClass } from "@/components/ui.tsx";

export default define.page(({ url }) => (
  <div class="mx-auto max-w-md py-16 text-center">
    <p class="text-sm font-semibold text-muted-foreground">404</p>
    <h1 class="mt-1 text-2xl font-semibold tracking-tight">Page not found</h1>
    <p class="mt-2 text-sm text-muted-foreground">
      Nothing lives at{" "}
      <code class="rounded bg-muted px-1 py-0.5 font-mono text-xs">{url.pathname}</code>.
    </p>
    <div class="mt-6 flex justify-center gap-2">
      <a href="/" class={buttonClass("primary")}>Dashboard</a>
      <a href="/jobs" class={buttonClass("outline")}>All jobs</a>
    </div>
  </div>
));
