/** Island props across the server/browser boundary: what survives, what is refused, escaping. */
import { Signal, signal } from "@preact/signals";
import { deserializeProps, IslandPropsError, serializeProps } from "./serial.ts";
import { assert, assertEquals, assertStringIncludes } from "../../tests/_helpers/assert.ts";

Deno.test("island props: Date, URL, Map, Set, undefined, signals and tagged keys survive", () => {
  const props = {
    at: new Date("2026-01-15T12:00:00Z"),
    url: new URL("http://x/a?b=1"),
    map: new Map([["a", 1]]),
    set: new Set([1, 2]),
    none: undefined,
    big: 10n,
    inf: Infinity,
    sig: signal(3),
    tricky: { $t: "Date", v: "not a date" },
    nested: [{ a: [null, true, "s"] }],
  };
  const back = deserializeProps(serializeProps("X", props));
  assertEquals((back.at as Date).toISOString(), "2026-01-15T12:00:00.000Z");
  assertEquals((back.url as URL).href, "http://x/a?b=1");
  assertEquals([...(back.map as Map<string, number>)], [["a", 1]]);
  assertEquals([...(back.set as Set<number>)], [1, 2]);
  assert("none" in back && back.none === undefined);
  assertEquals(back.big, 10n);
  assertEquals(back.inf, Infinity);
  assert(back.sig instanceof Signal && back.sig.value === 3);
  assertEquals(back.tricky, { $t: "Date", v: "not a date" });
  assertEquals(back.nested, [{ a: [null, true, "s"] }]);
});

Deno.test("island props: functions, class instances, JSX and cycles are refused, naming island and path", () => {
  const refuse = (props: Record<string, unknown>, part: string) => {
    try {
      serializeProps("Chart", props);
    } catch (err) {
      assert(err instanceof IslandPropsError);
      assertStringIncludes(err.message, "island Chart");
      assertStringIncludes(err.message, part);
      return;
    }
    throw new Error("expected an IslandPropsError");
  };
  refuse({ onClick: () => {} }, "props.onClick is a function");
  refuse(
    { deep: { list: [1, new (class Thing {})()] } },
    "props.deep.list[1] is an instance of Thing",
  );
  refuse({ el: <b>hi</b> }, "props.el is JSX");
  refuse({ children: <b>hi</b> }, "children");
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  refuse({ cyc }, "cycle");
});

Deno.test("island props: text that closes the script element is escaped", () => {
  const s = serializeProps("X", { s: "</script><script>alert(1)</script>\u2028" });
  assert(!s.includes("<"), s);
  assertEquals(deserializeProps(s).s, "</script><script>alert(1)</script>\u2028");
});
