/**
 * Stand-in for the `paths` type that openapi-typescript generates from the
 * served document. `tests/api_openapi_client_test.ts` generates the real one,
 * writes it next to a copy of `openapi_calls.ts` and type-checks that copy; this
 * stand-in only lets the repository's own type check load `openapi_calls.ts`.
 */
// deno-lint-ignore no-explicit-any
export type paths = any;
