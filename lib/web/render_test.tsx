/** Page rendering: island markers with server HTML, per-page CSS with the nonce, no stray script. */
import type { ComponentType } from "preact";
import { registerIsland } from "./islands.ts";
import { renderPage } from "./render.tsx";
import { assert, assertEquals, assertStringIncludes } from "../../tests/_helpers/assert.ts";
import { $, $$, parse, text } from "../../tests/_helpers/html.ts";

function Counter({ n }: { n: number }) {
  return <button type="button">count {n}</button>;
}
registerIsland("Counter", Counter);

Deno.test("render: an island renders real server HTML inside its marker; the CSS carries the nonce", async () => {
  const App = ({ Component }: { Component: ComponentType }) => (
    <html>
      <head></head>
      <body>
        <Component />
      </body>
    </html>
  );
  const res = await renderPage({
    page: () => (
      <main class="p-4">
        <Counter n={2} />
      </main>
    ),
    wrappers: [App as never],
    props: { data: null, url: new URL("http://x/"), params: {}, state: { nonce: "abc123" } },
  });
  return await res.text().then((html) => {
    const doc = parse(html);
    const marker = $(doc, '[data-island="Counter"]');
    assertEquals(text(marker), "count 2");
    assertStringIncludes($(doc, "style").textContent ?? "", ".p-4{");
    assertEquals($(doc, "style").getAttribute("nonce"), "abc123");
  });
});

Deno.test("render: a page without islands carries no script at all", async () => {
  const res = await renderPage({
    page: () => <p class="text-sm">plain</p>,
    wrappers: [
      (({ Component }: { Component: ComponentType }) => (
        <html>
          <head></head>
          <body>
            <Component />
          </body>
        </html>
      )) as never,
    ],
    props: { data: null, url: new URL("http://x/"), params: {}, state: { nonce: "n" } },
  });
  const html = await res.text();
  assertEquals($$(parse(html), "script").length, 0);
  assert(!html.includes("modulepreload"));
});
