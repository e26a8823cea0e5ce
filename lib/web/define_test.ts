/** The define helpers: `page()`. */
import { page } from "./define.ts";
import { assertEquals } from "../../tests/_helpers/assert.ts";

Deno.test("page(): handlers ask for a render with status", () => {
  assertEquals(page({ a: 1 }, { status: 422 }).status, 422);
});
