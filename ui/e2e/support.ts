/** Browser launch and page setup shared by the e2e files. */
import { readFileSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect, inject } from "vitest";

/** Debian's chromium, with the flags that work on these machines (no sandbox as root, no network). */
export const CHROMIUM = process.env.CUECARD_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

export interface Opened {
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  errors: string[];
}

/**
 * Opens `page` (index.html or overlay.html) with the IPC harness installed and
 * `replies` as the Rust side's answers, and waits until the app has registered its
 * listeners (body[data-ready]).
 */
export async function open(
  browser: Browser,
  file: "index.html" | "overlay.html",
  replies: Record<string, unknown>,
  opts: { viewport?: { width: number; height: number }; beforeGoto?: (page: Page) => Promise<void> } = {},
): Promise<Opened> {
  const viewport = opts.viewport ?? { width: 1100, height: 900 };
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await opts.beforeGoto?.(page);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  await page.addInitScript({ content: readFileSync(inject("harnessPath"), "utf8") });
  await page.addInitScript((r) => {
    (window as unknown as { __cuecard: { replies: Record<string, unknown> } }).__cuecard.replies = r;
  }, replies);
  await page.goto(`${inject("baseURL")}/${file}`);
  await page.locator("body[data-ready=true]").waitFor({ timeout: 10_000 });
  return { context, page, errors };
}

/** The commands the app invoked so far (optionally only `cmd`). */
export async function calls(page: Page, cmd?: string): Promise<{ cmd: string; args: Record<string, unknown> }[]> {
  const all = await page.evaluate(() => (window as unknown as { __cuecard: { calls: { cmd: string; args: Record<string, unknown> }[] } }).__cuecard.calls);
  return cmd ? all.filter((c) => c.cmd === cmd) : all;
}

/** Emits an event from the "Rust side" through the mocked Tauri event system. */
export async function emit(page: Page, event: string, payload: unknown): Promise<void> {
  await page.evaluate(
    ([e, p]) => (window as unknown as { __cuecard: { emit: (e: string, p: unknown) => Promise<void> } }).__cuecard.emit(e as string, p),
    [event, payload] as const,
  );
}

/** No uncaught errors, no console errors, no CSP violations. */
export async function expectClean(o: Opened): Promise<void> {
  const csp = await o.page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
  expect(csp, "CSP violations").toEqual([]);
  expect(o.errors, "page errors").toEqual([]);
}

export async function shoot(page: Page, name: string, opts: { omitBackground?: boolean } = {}): Promise<void> {
  // Let transitions and the next frame settle so the shot shows the state we asserted.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: `test-output/${name}.png`, fullPage: true, ...opts });
}
