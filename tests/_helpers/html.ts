/**
 * HTML assertions on linkedom: selector helpers that print the relevant DOM
 * when nothing matches, so a failing page test shows what the page held.
 */
import { parseHTML } from "linkedom";

/** A parsed page. */
export type Doc = Document;

/** Parses a full HTML document. */
export function parse(html: string): Doc {
  return parseHTML(html).document as unknown as Doc;
}

function dump(doc: Doc | Element): string {
  const root = "body" in doc ? (doc.body ?? doc.documentElement) : doc;
  const html = (root as Element).outerHTML.replace(/<style[\s\S]*?<\/style>/g, "<style>…</style>");
  return html.length > 6000 ? html.slice(0, 6000) + "\n… (truncated)" : html;
}

/** The first element matching `selector`; throws with the DOM printed when none does. */
export function $(doc: Doc | Element, selector: string): Element {
  const el = doc.querySelector(selector);
  if (!el) throw new Error(`no element matches ${selector}\n--- DOM ---\n${dump(doc)}`);
  return el;
}

/** Every element matching `selector` (possibly none). */
export function $$(doc: Doc | Element, selector: string): Element[] {
  return [...doc.querySelectorAll(selector)];
}

/** Exactly `n` elements match `selector`; throws with the DOM printed otherwise. */
export function expectCount(doc: Doc | Element, selector: string, n: number): Element[] {
  const els = $$(doc, selector);
  if (els.length !== n) {
    throw new Error(`expected ${n} × ${selector}, found ${els.length}\n--- DOM ---\n${dump(doc)}`);
  }
  return els;
}

/** Whitespace-normalised text content. */
export function text(el: Element | null | undefined): string {
  return (el?.textContent ?? "").replace(/\s+/g, " ").trim();
}
