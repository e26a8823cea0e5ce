/**
 * A collapsible JSON viewer for a job's payload or result: the server-rendered
 * tree (collapsible with `<details>` even without JavaScript) plus, once
 * hydrated, "Expand all", "Collapse all" and "Copy".
 */
import { useRef, useState } from "preact/hooks";
import { useHydrated } from "@/lib/web/runtime.ts";
import { JsonTree } from "@/components/JsonTree.tsx";
import { buttonClass } from "@/components/ui.tsx";

/** Props of {@link JsonViewer}. */
export interface JsonViewerProps {
  /** What the JSON is ("Payload", "Result"); names the controls. */
  label: string;
  value: unknown;
}

export default function JsonViewer({ label, value }: JsonViewerProps) {
  const hydrated = useHydrated();
  const root = useRef<HTMLDivElement>(null);
  const [copied, setCopied] = useState<"" | "ok" | "failed">("");
  const setAll = (open: boolean) => {
    for (
      const d of root.current?.querySelectorAll<HTMLDetailsElement>("details[data-json-node]") ?? []
    ) {
      d.open = open;
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(value, null, 2));
      setCopied("ok");
    } catch {
      setCopied("failed");
    }
    setTimeout(() => setCopied(""), 1500);
  };
  return (
    <div
      ref={root}
      data-ready={hydrated ? "" : undefined}
      data-json-viewer={label}
      data-view-key={label}
    >
      {hydrated && (
        <div class="mb-2 flex flex-wrap gap-1.5" role="toolbar" aria-label={`${label} JSON`}>
          <button
            type="button"
            class={buttonClass("outline", "h-7 px-2 text-xs")}
            onClick={() =>
              setAll(true)}
          >
            Expand all
          </button>
          <button
            type="button"
            class={buttonClass("outline", "h-7 px-2 text-xs")}
            onClick={() =>
              setAll(false)}
          >
            Collapse all
          </button>
          <button
            type="button"
            class={buttonClass("outline", "h-7 px-2 text-xs")}
            onClick={copy}
            aria-label={`Copy ${label} as JSON`}
          >
            {copied === "ok" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
          </button>
        </div>
      )}
      <JsonTree value={value} />
    </div>
  );
}
