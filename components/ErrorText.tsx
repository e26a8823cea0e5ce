/**
 * An error message as a job records it: the message lines shown, the stack
 * frames ("    at …" lines) folded behind a "Stack trace (N lines)" toggle.
 * Server-rendered; the fold works without JavaScript.
 */

const FRAME = /^\s+at\s/;

/** Splits `text` into the lines to show and the stack frames to fold. */
export function splitStack(text: string): { head: string; frames: string[] } {
  const lines = text.split("\n");
  return {
    head: lines.filter((l) => !FRAME.test(l)).join("\n"),
    frames: lines.filter((l) => FRAME.test(l)),
  };
}

/** The message in a `<pre>` (class `preClass`), its stack folded below it. */
export function ErrorText({ text, preClass }: { text: string; preClass: string }) {
  const { head, frames } = splitStack(text);
  return (
    <>
      <pre class={preClass} data-error-head>{head}</pre>
      {frames.length > 0 && (
        <details class="mt-1 text-xs" data-stack>
          <summary class="cursor-pointer select-none text-muted-foreground hover:text-foreground">
            Stack trace ({frames.length} {frames.length === 1 ? "line" : "lines"})
          </summary>
          <pre class={preClass}>{frames.join("\n")}</pre>
        </details>
      )}
    </>
  );
}
