/**
 * Twind on the server: one shared instance with the Tailwind preset, and
 * per-page extraction of exactly the CSS a page's markup uses. The theme
 * follows shadcn/ui: semantic colours (`bg-background`, `text-muted-foreground`,
 * `border-border`, …) are CSS variables that switch with
 * `prefers-color-scheme`, so markup needs no `dark:` variants for them.
 */
import { consume, defineConfig, stringify, twind, virtual } from "@twind/core";
import presetTailwind from "@twind/preset-tailwind";

const v = (name: string) => `hsl(var(--${name}))`;

const config = defineConfig({
  presets: [presetTailwind()],
  darkMode: "media",
  hash: false,
  theme: {
    extend: {
      colors: {
        background: v("background"),
        foreground: v("foreground"),
        card: v("card"),
        muted: v("muted"),
        "muted-foreground": v("muted-foreground"),
        border: v("border"),
        input: v("input"),
        ring: v("ring"),
        primary: v("primary"),
        "primary-foreground": v("primary-foreground"),
        accent: v("accent"),
        destructive: v("destructive"),
        "destructive-foreground": v("destructive-foreground"),
      },
      fontFamily: {
        sans: [
          "ui-sans-serif",
          "system-ui",
          "-apple-system",
          "Segoe UI",
          "Roboto",
          "Helvetica Neue",
          "Arial",
          "sans-serif",
        ],
        mono: ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
      },
    },
  },
  preflight: {
    ":root": {
      "--background": "0 0% 100%",
      "--foreground": "240 10% 3.9%",
      "--card": "0 0% 100%",
      "--muted": "240 4.8% 95.9%",
      "--muted-foreground": "240 3.8% 40%",
      "--border": "240 5.9% 90%",
      "--input": "240 5.9% 85%",
      "--ring": "221 83% 53%",
      "--primary": "240 5.9% 10%",
      "--primary-foreground": "0 0% 98%",
      "--accent": "240 4.8% 95.9%",
      "--destructive": "0 72% 45%",
      "--destructive-foreground": "0 0% 98%",
      colorScheme: "light",
    },
    "@media (prefers-color-scheme: dark)": {
      ":root": {
        "--background": "240 10% 3.9%",
        "--foreground": "0 0% 98%",
        "--card": "240 8% 6%",
        "--muted": "240 3.7% 15.9%",
        "--muted-foreground": "240 5% 68%",
        "--border": "240 3.7% 17%",
        "--input": "240 3.7% 24%",
        "--ring": "217 91% 60%",
        "--primary": "0 0% 98%",
        "--primary-foreground": "240 5.9% 10%",
        "--accent": "240 3.7% 15.9%",
        // 50% lightness: white text on it reaches 4.7:1 (55% gave 4.2:1, under WCAG AA).
        "--destructive": "0 70% 50%",
        "--destructive-foreground": "0 0% 98%",
        colorScheme: "dark",
      },
    },
    body: { backgroundColor: v("background"), color: v("foreground") },
    "*": { borderColor: v("border") },
  },
});

/** The shared Twind instance (virtual sheet; never touches a DOM). */
export const tw = twind(config, virtual());

const ENTITIES: Record<string, string> = { "&gt;": ">", "&lt;": "<", "&amp;": "&" };

/**
 * `html` with the entities the renderer escapes in attribute values decoded
 * inside `class="…"` only, so that a class such as `[[open]>summary>&]:…`
 * yields a rule for itself rather than for `[[open]&gt;summary…`.
 */
export function decodeClassAttributes(html: string): string {
  return html.replace(
    /(\sclass=")([^"]*)"/g,
    (_, start, value: string) =>
      start + value.replace(/&(?:gt|lt|amp);/g, (e) => ENTITIES[e]) + '"',
  );
}

/**
 * The CSS for the classes used in `html` (plus `extra` class tokens, e.g.
 * classes islands may add in the browser). Leaves the shared sheet as it
 * was, so each page gets only its own rules (and the preflight).
 */
export function extractCss(html: string, extra: readonly string[] = []): string {
  const restore = tw.snapshot();
  try {
    consume(decodeClassAttributes(html), tw);
    for (const token of extra) tw(token);
    return stringify(tw.target);
  } finally {
    restore();
  }
}

/**
 * Class-like tokens in source text: the words of every string literal that
 * look like Tailwind classes. Used to pre-generate rules for classes islands
 * switch on in the browser, where no Twind runs.
 */
export function classTokens(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/"([^"\n]*)"|'([^'\n]*)'|`([^`]*)`/g)) {
    for (const w of (m[1] ?? m[2] ?? m[3] ?? "").split(/\s+/)) {
      if (
        /^(?:[a-z-]+:)*-?[a-z][a-z0-9-]*(?:-\[[^\]\s]+\]|\/[0-9]+|\.[0-9]+)?(?:-[a-z0-9.]+)*$/.test(
          w,
        )
      ) {
        out.add(w);
      }
    }
  }
  return [...out];
}
