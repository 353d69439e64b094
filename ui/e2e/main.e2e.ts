/** The main window against the built dist, with the Rust side mocked at the IPC boundary. */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ModelStatus } from "../src/ipc/contract";
import { call, defaultReplies, models, sampleEvents, settings } from "./fixtures";
import { calls, emit, expectClean, launch, open, shoot, type Opened } from "./support";

let browser: Browser;
let o: Opened | null = null;

beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await o?.context.close();
  o = null;
});

async function openMain(replies: Record<string, unknown> = {}): Promise<Page> {
  o = await open(browser, "index.html", { ...defaultReplies(), ...replies });
  return o.page;
}

const text = (page: Page, sel: string) => page.locator(sel).first().textContent();

describe("main window", () => {
  it("library search shows what would fire, with the why of each candidate", async () => {
    const page = await openMain();
    await page.getByRole("tab", { name: "Library" }).click();
    expect(await page.locator("#panel-library").isVisible()).toBe(true);
    expect(await page.locator("#panel-live").isHidden()).toBe(true);
    await page.getByLabel("What would fire for this sentence?").fill("honestly that's way over our budget this year");
    await page.getByRole("button", { name: "Check" }).click();

    await page.locator("#library-results li").first().waitFor();
    expect(await text(page, "#library-verdict")).toBe("Fires: Budget already spent (budget)");
    const items = page.locator("#library-results li.candidate");
    expect(await items.count()).toBe(3);
    expect(await items.nth(0).getAttribute("data-state")).toBe("fires");
    expect(await items.nth(0).locator(".candidate-title").textContent()).toBe("Budget already spent");
    expect(await items.nth(0).locator(".candidate-why").textContent()).toBe(
      '"honestly that is way over our budget this year" ≈ "honestly I\'m over budget as it is" (score 0.78, lexical 0.78, bm25 8.0)',
    );
    expect(await items.nth(1).getAttribute("data-state")).toBe("below");
    expect(await items.nth(2).getAttribute("data-state")).toBe("suppressed");
    expect(await items.nth(2).locator(".candidate-suppressed").textContent()).toContain("must-not-fire");
    const searches = await calls(page, "library_search");
    expect(searches.at(-1)!.args).toEqual({ text: "honestly that's way over our budget this year" });
    await shoot(page, "main-library");
    await expectClean(o!);
  });

  it("a library search error is shown, not swallowed", async () => {
    const page = await openMain({ library_search: { __error: "the objection library is empty" } });
    await page.getByRole("tab", { name: "Library" }).click();
    await page.locator("#library-text").fill("too expensive");
    await page.locator("#library-text").press("Enter");
    await page.waitForFunction(() => document.getElementById("library-verdict")?.dataset.kind === "error");
    expect(await text(page, "#library-verdict")).toBe("Search failed: the objection library is empty");
    expect(await page.locator("#library-results li").count()).toBe(0);
  });

  it("the recording-consent reminder blocks live start until acknowledged", async () => {
    const page = await openMain({ start_live: { call_id: 5 } });
    const start = page.getByRole("button", { name: "Start live coaching" });
    expect(await page.locator(".consent").isVisible()).toBe(true);
    expect(await start.isDisabled()).toBe(true);
    expect(await page.locator("#live-start-hint").isVisible()).toBe(true);

    // Not even a scripted click gets through.
    await page.evaluate(() => (document.getElementById("live-start") as HTMLButtonElement).click());
    await start.click({ force: true, timeout: 2000 }).catch(() => undefined);
    expect(await calls(page, "start_live")).toEqual([]);

    // Devices from list_devices; pick the built-in mic.
    const mics = await page.locator("#live-mic option").allTextContents();
    expect(mics).toEqual(["System default (USB Headset Microphone)", "USB Headset Microphone", "Built-in Microphone"]);
    await page.getByLabel("Microphone (you)").first().selectOption("alsa_input.pci-internal");
    await shoot(page, "main-live-consent");

    await page.getByLabel("I have told everyone on this call").check();
    expect(await start.isEnabled()).toBe(true);
    expect(await page.locator("#live-start-hint").isHidden()).toBe(true);
    await start.click();
    await page.waitForFunction(() => document.getElementById("live-status")?.textContent?.startsWith("Running"));
    expect((await calls(page, "start_live")).map((c) => c.args)).toEqual([{ mic: "alsa_input.pci-internal", loopback: null }]);
    expect(await start.isDisabled()).toBe(true);
    expect(await page.locator("#live-stop").isEnabled()).toBe(true);
    expect(await text(page, "#session-badge")).toBe("Live call running · call #5");

    // Level meters follow the `level` event (the engine's Event::Level: rep speaking, prospect silent).
    await emit(page, "level", {
      type: "level",
      audio_ms: 4200,
      levels: [
        { speaker: "rep", rms_db: -20 },
        { speaker: "prospect", rms_db: -100 },
      ],
    });
    await page.waitForFunction(() => Number(document.getElementById("meter-rep")?.getAttribute("aria-valuenow")) >= 60);
    expect(await page.locator("#meter-rep").getAttribute("aria-valuetext")).toBe("-20 dB");
    expect(await page.locator("#meter-prospect").getAttribute("aria-valuenow")).toBe("0");
    expect(await page.locator("#meter-prospect").getAttribute("aria-valuetext")).toBe("silent");
    // The same event on engine-event drives the meters too.
    await emit(page, "engine-event", { type: "level", audio_ms: 4400, levels: [{ speaker: "prospect", rms_db: -30 }] });
    await page.waitForFunction(() => Number(document.getElementById("meter-prospect")?.getAttribute("aria-valuenow")) >= 45);

    await emit(page, "engine-event", sampleEvents.find((e) => e.type === "transcript" && e.final)!);
    await emit(page, "engine-event", {
      type: "device",
      speaker: "prospect",
      kind: "fallback",
      device: "default",
      message: "call audio switched to the default device default",
    });
    const notice = page.locator("#live-session .warnings li");
    await notice.waitFor();
    expect(await notice.textContent()).toBe("call audio switched to the default device default");
    expect(await notice.getAttribute("data-kind")).toBe("fallback");
    await shoot(page, "main-live-running");

    // The call ends: consent is asked again for the next one.
    await emit(page, "session-state", { running: false, kind: "live", call_id: 5, source: null });
    await page.waitForFunction(() => !(document.getElementById("consent-ack") as HTMLInputElement).checked);
    expect(await start.isDisabled()).toBe(true);
    await expectClean(o!);
  });

  it("replay: picks a file, starts, shows the transcript lines, the cards and the summary", async () => {
    const page = await openMain({ start_replay: { call_id: 1 } });
    await page.getByRole("tab", { name: "Replay" }).click();
    await page.getByRole("button", { name: "Browse…" }).click();
    await page.waitForFunction(() => (document.getElementById("replay-path") as HTMLInputElement).value !== "");
    expect(await page.locator("#replay-path").inputValue()).toBe("/home/rep/calls/sample-call.flac");
    await page.getByLabel("Pace", { exact: true }).selectOption("fast");
    await page.getByRole("button", { name: "Start replay" }).click();
    await page.waitForFunction(() => document.getElementById("replay-status")?.textContent?.startsWith("Running"));
    expect((await calls(page, "start_replay")).map((c) => c.args)).toEqual([
      { path: "/home/rep/calls/sample-call.flac", pace: "fast" },
    ]);
    expect(await page.locator("#replay-start").isDisabled()).toBe(true);

    // First partials: one line, shown as partial, updated in place.
    for (const ev of sampleEvents.slice(0, 3)) await emit(page, "engine-event", ev);
    const lines = page.locator("#replay-session-transcript li.line");
    expect(await lines.count()).toBe(1);
    expect(await lines.first().getAttribute("class")).toContain("partial");

    for (const ev of sampleEvents.slice(3, -1)) await emit(page, "engine-event", ev);
    expect(await lines.count()).toBe(17);
    expect(await page.locator("#replay-session-transcript li.line.partial").count()).toBe(0);
    expect(await lines.first().locator(".line-text").textContent()).toBe(
      "Hi Maria, it's Sam from Tallyline. Thanks for taking the call.",
    );
    expect(await lines.nth(1).getAttribute("data-speaker")).toBe("prospect");
    const cards = page.locator("#replay-session-cards li.card-item");
    expect(await cards.count()).toBe(3);
    // Newest first.
    expect(await cards.first().locator(".card-item-title").textContent()).toBe("Come back later");

    await emit(page, "engine-event", sampleEvents.at(-1)!);
    await page.locator("#replay-session .summary").waitFor({ state: "visible" });
    expect(await text(page, "#replay-session .summary")).toContain("Call #1 ended");
    expect(await text(page, "#replay-session .summary")).toContain("3 cards");
    expect(await page.locator("#replay-start").isEnabled()).toBe(true);
    expect(await text(page, "#session-badge")).toBe("No call running");
    await shoot(page, "main-replay");
    await expectClean(o!);
  });

  it("replay refuses to start without a file and shows a start error", async () => {
    const page = await openMain({ start_replay: { __error: "cannot open /nope.wav: No such file or directory" } });
    await page.getByRole("tab", { name: "Replay" }).click();
    await page.getByRole("button", { name: "Start replay" }).click();
    expect(await text(page, "#replay-status")).toBe("Choose an audio file first.");
    expect(await calls(page, "start_replay")).toEqual([]);
    await page.locator("#replay-path").fill("/nope.wav");
    await page.getByRole("button", { name: "Start replay" }).click();
    await page.waitForFunction(() => document.getElementById("replay-status")?.dataset.kind === "error" && document.getElementById("replay-status")?.textContent?.startsWith("Could not start"));
    expect(await text(page, "#replay-status")).toBe("Could not start: cannot open /nope.wav: No such file or directory");
    expect(await page.locator("#replay-start").isEnabled()).toBe(true);
  });

  it("models: install shows progress from model-progress events", async () => {
    const page = await openMain({ install_model: { __pending: true } });
    await page.getByRole("tab", { name: "Models" }).click();
    const rows = page.locator("#models-body tr");
    expect(await rows.count()).toBe(models.length);
    const tiny = page.locator('#models-body tr[data-model="tiny.en"]');
    expect(await tiny.locator(".badge[data-kind=ok]").textContent()).toBe("Installed");
    expect(await tiny.locator("button").isHidden()).toBe(true);

    const base = page.locator('#models-body tr[data-model="base.en"]');
    await base.getByRole("button", { name: "Install base.en" }).click();
    await emit(page, "model-progress", { name: "base.en", stage: "trying", source: "https://huggingface.co/ggerganov/whisper.cpp" });
    await emit(page, "model-progress", { name: "base.en", stage: "downloading", done: 73_982_105, total: 147_964_211 });
    await page.waitForFunction(() => (document.querySelector('#models-body tr[data-model="base.en"] progress') as HTMLProgressElement)?.value > 0.49);
    expect(await base.locator(".progress-detail").textContent()).toBe("74.0 MB of 148 MB");
    expect(await base.locator("button").isDisabled()).toBe(true);
    await shoot(page, "main-models");

    const installed: ModelStatus[] = models.map((m) =>
      m.name === "base.en" ? { ...m, installed: "/home/rep/.local/share/cuecard/models/ggml-base.en.bin" } : m,
    );
    await page.evaluate((list) => {
      const h = (window as unknown as { __cuecard: { replies: Record<string, unknown>; settle: (c: string, v: unknown) => void } }).__cuecard;
      h.replies.models_status = list;
      h.settle("install_model", list.find((m) => m.name === "base.en"));
    }, installed);
    await base.locator(".badge[data-kind=ok]").waitFor();
    expect(await base.locator(".badge").first().textContent()).toBe("Installed");
    expect(await text(page, "#models-status")).toBe("base.en installed.");
    expect((await calls(page, "install_model")).map((c) => c.args)).toEqual([{ name: "base.en" }]);
    await expectClean(o!);
  });

  it("history: lists calls; a click shows the transcript with its cards in place", async () => {
    const page = await openMain();
    await page.getByRole("tab", { name: "History" }).click();
    const item = page.locator("#history-list button.call");
    await item.first().waitFor();
    expect(await item.count()).toBe(1);
    expect(await item.first().locator(".call-title").textContent()).toBe("#1 replay");
    await item.first().click();
    await page.locator("#history-detail h3").waitFor();
    expect(await text(page, "#history-detail h3")).toBe("Call #1");
    expect(await page.locator("#history-detail li.line").count()).toBe(call.segments.length);
    const cards = page.locator("#history-detail li.history-card");
    expect(await cards.count()).toBe(3);
    // Cards sit between the lines they interrupted.
    const order = await page.locator("#history-detail ol > li").evaluateAll((els) => els.map((e) => e.className));
    expect(order.indexOf("history-card")).toBeGreaterThan(0);
    expect(order.lastIndexOf("history-card")).toBeLessThan(order.length - 1);
    expect((await calls(page, "get_call")).map((c) => c.args)).toEqual([{ id: 1 }]);
    expect(await item.first().getAttribute("aria-pressed")).toBe("true");
    await shoot(page, "main-history");
    await expectClean(o!);
  });

  it("settings: loads, validates and saves", async () => {
    const page = await openMain({ get_settings: { ...settings, threshold: 0.5, card_fade_s: 9 } });
    await page.getByRole("tab", { name: "Settings" }).click();
    expect(await page.getByLabel("Card threshold").inputValue()).toBe("0.5");
    expect(await page.getByLabel("Cards fade after (seconds)").inputValue()).toBe("9");
    const modelOptions = await page.locator("#set-model option").allTextContents();
    expect(modelOptions).toContain("tiny.en");
    expect(modelOptions).toContain("base.en (not installed)");
    expect(modelOptions.some((t) => t.includes("minilm"))).toBe(false);

    await page.getByLabel("Card threshold").fill("3");
    await page.getByRole("button", { name: "Save settings" }).click();
    expect(await text(page, "#settings-status")).toBe("The card threshold must be between 0 and 1, or empty.");
    expect(await page.getByLabel("Card threshold").getAttribute("aria-invalid")).toBe("true");
    expect(await calls(page, "save_settings")).toEqual([]);

    await page.getByLabel("Card threshold").fill("");
    await page.getByLabel("Mark helpful").fill("y");
    await page.getByLabel("Matcher").selectOption("bm25");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.waitForFunction(() => document.getElementById("settings-status")?.textContent === "Settings saved.");
    const saved = (await calls(page, "save_settings")).map((c) => c.args);
    expect(saved).toEqual([
      {
        settings: {
          ...settings,
          card_fade_s: 9,
          threshold: null,
          matcher: "bm25",
          hotkeys: { ...settings.hotkeys, helpful: "y" },
        },
      },
    ]);
    await shoot(page, "main-settings");
    await expectClean(o!);
  });

  it("tabs work from the keyboard", async () => {
    const page = await openMain();
    await page.getByRole("tab", { name: "Live" }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.getByRole("tab", { name: "Replay" }).getAttribute("aria-selected")).toBe("true");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("tab-replay");
    await page.keyboard.press("End");
    expect(await page.locator("#panel-settings").isVisible()).toBe(true);
    await page.keyboard.press("Home");
    expect(await page.locator("#panel-live").isVisible()).toBe(true);
    await expectClean(o!);
  });

  it("outside the app (no IPC) it says so instead of failing", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const { inject } = await import("vitest");
    await page.goto(`${inject("baseURL")}/index.html`);
    await page.locator("body[data-ready=true]").waitFor();
    expect(await page.locator("#backend-banner").isVisible()).toBe(true);
    expect(await text(page, "#backend-banner")).toContain("Not connected");
    expect(errors).toEqual([]);
    await context.close();
  });
});
