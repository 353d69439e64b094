/** The overlay window against the built dist, with the Rust side mocked at the IPC boundary. */
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CardEvent, TranscriptEvent } from "../src/ipc/contract";
import { defaultReplies, sampleCards, sampleEvents, settings } from "./fixtures";
import { calls, emit, expectClean, launch, open, shoot, type Opened } from "./support";

const VIEWPORT = { width: 440, height: 330 };
const [price, reorg] = sampleCards as [CardEvent, CardEvent];
const running = { running: true, kind: "replay", call_id: 1, source: "samples/sample-call.flac" };

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

async function openOverlay(
  replies: Record<string, unknown> = {},
  beforeGoto?: (page: Page) => Promise<void>,
): Promise<Opened> {
  o = await open(browser, "overlay.html", { ...defaultReplies(), get_session: running, ...replies }, { viewport: VIEWPORT, beforeGoto });
  return o;
}

// An installed clock still flows in real time; pause it so only runFor moves it, or a
// slow emit under load eats into the timings the test asserts (seen failing in CI).
// Not for tests that use waitForFunction: its polling runs on the page's (paused) frames.
async function pauseClock(page: Page): Promise<void> {
  const now = await page.evaluate(() => Date.now());
  await page.clock.pauseAt(now + 1_000);
}

describe("overlay", () => {
  it("renders a card from an engine-event, with answers, why and the ticker", async () => {
    const { page } = await openOverlay();
    await expect(page.locator("#card").isHidden()).resolves.toBe(true);
    await expect(page.locator("#idle").isVisible()).resolves.toBe(true);

    // The transcript up to the price objection (partials, then finals).
    const upTo = sampleEvents.indexOf(price);
    for (const ev of sampleEvents.slice(0, upTo).filter((e) => e.type === "transcript")) {
      await emit(page, "engine-event", ev);
    }
    await emit(page, "engine-event", price);

    const card = page.locator("#card");
    await card.waitFor({ state: "visible" });
    expect(await page.locator("#card-title").textContent()).toBe("Too expensive");
    expect(await page.locator("#card-category").textContent()).toBe("price");
    expect(await card.getAttribute("data-phase")).toBe("shown");
    const answers = page.locator("#card-answers li");
    expect(await answers.count()).toBe(3);
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(price.responses[0]!.text);
    expect(await page.locator("#card-answers li.current").getAttribute("aria-current")).toBe("true");
    expect(await page.locator("#card-why").textContent()).toBe(price.why);
    expect(await page.locator("#idle").isHidden()).toBe(true);

    // Ticker: newest text last; rep and prospect in different colours.
    const segs = page.locator("#ticker .seg");
    expect(await segs.count()).toBeGreaterThan(0);
    const last = sampleEvents.slice(0, upTo).filter((e): e is TranscriptEvent => e.type === "transcript").at(-1)!;
    expect((await segs.last().textContent())!.endsWith(last.text.slice(-10))).toBe(true);
    const colour = (speaker: string) =>
      page.locator(`#ticker .seg[data-speaker=${speaker}]`).first().evaluate((el) => getComputedStyle(el).color);
    const [rep, prospect] = [await colour("rep"), await colour("prospect")];
    expect(rep).not.toBe(prospect);

    // Transparent page, drag region present.
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe("rgba(0, 0, 0, 0)");
    expect(await page.locator("[data-tauri-drag-region]").count()).toBeGreaterThan(0);

    await shoot(page, "overlay-card", { omitBackground: true });
    await expectClean(o!);
  });

  it("H marks the card helpful through card_feedback (once); Tab moves the highlight", async () => {
    const { page } = await openOverlay();
    await emit(page, "engine-event", price);
    await page.locator("#card").waitFor({ state: "visible" });

    await page.keyboard.press("h");
    await page.locator("#card-helpful").waitFor({ state: "visible" });
    await page.keyboard.press("H");
    const fb = await calls(page, "card_feedback");
    expect(fb.map((c) => c.args)).toEqual([
      { call_id: 1, objection_id: "price-too-expensive", action: "helpful", response_id: null },
    ]);
    expect(await page.locator("#btn-helpful").getAttribute("aria-pressed")).toBe("true");

    await page.keyboard.press("Tab");
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(price.responses[1]!.text);
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(price.responses[0]!.text);
    await page.keyboard.press("Shift+Tab");
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(price.responses[2]!.text);

    // Enter: "I used this answer", with its response id.
    await page.keyboard.press("Enter");
    const used = (await calls(page, "card_feedback")).at(-1)!;
    expect(used.args).toEqual({ call_id: 1, objection_id: "price-too-expensive", action: "used", response_id: price.responses[2]!.id });
    await expectClean(o!);
  });

  it("Esc dismisses the card and reports it", async () => {
    const { page } = await openOverlay();
    await emit(page, "engine-event", price);
    await page.locator("#card").waitFor({ state: "visible" });
    await page.keyboard.press("Escape");
    await page.locator("#card").waitFor({ state: "hidden" });
    expect(await page.locator("#idle").isVisible()).toBe(true);
    expect((await calls(page, "card_feedback")).map((c) => c.args.action)).toEqual(["dismissed"]);
    // Keys with no card on screen do nothing.
    await page.keyboard.press("h");
    expect(await calls(page, "card_feedback")).toHaveLength(1);
    await expectClean(o!);
  });

  it("a second objection replaces the first in place, without hiding the card", async () => {
    const { page } = await openOverlay();
    await emit(page, "engine-event", price);
    await page.locator("#card").waitFor({ state: "visible" });
    await page.keyboard.press("p");
    await page.locator("#card-pinned").waitFor({ state: "visible" });

    // Watch the card for anything that would flicker: hidden toggles, node replacement.
    await page.evaluate(() => {
      const w = window as unknown as { __marks: string[]; __card: Element; __li: Element };
      w.__marks = [];
      w.__card = document.getElementById("card")!;
      w.__li = document.querySelector("#card-answers li")!;
      new MutationObserver((ms) => {
        for (const m of ms) {
          const id = (m.target as Element).id;
          if (m.type === "attributes" && m.attributeName === "hidden" && (id === "card" || id === "idle")) {
            w.__marks.push(`${id} hidden toggled`);
          }
          if (m.type === "childList" && m.target === document.getElementById("overlay")) w.__marks.push("card-replaced");
        }
      }).observe(document.getElementById("overlay")!, { attributes: true, childList: true, subtree: true });
    });

    await emit(page, "engine-event", reorg);
    await page.waitForFunction(() => document.getElementById("card-title")?.textContent === "Waiting on a change");
    const same = await page.evaluate(() => {
      const w = window as unknown as { __marks: string[]; __card: Element; __li: Element };
      return {
        marks: w.__marks,
        sameCard: w.__card === document.getElementById("card"),
        sameLi: w.__li === document.querySelector("#card-answers li"),
      };
    });
    expect(same).toEqual({ marks: [], sameCard: true, sameLi: true });
    expect(await page.locator("#card-category").textContent()).toBe("timing");
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(reorg.responses[0]!.text);
    expect(await page.locator("#card").getAttribute("data-serial")).toBe("2");
    // The new objection starts unpinned.
    expect(await page.locator("#card-pinned").isHidden()).toBe(true);
    await shoot(page, "overlay-replaced", { omitBackground: true });
    await expectClean(o!);
  });

  it("fades after card_fade_s unless pinned (page clock)", async () => {
    const { page } = await openOverlay(
      { get_settings: { ...settings, card_fade_s: 5 } },
      async (p) => p.clock.install({ time: 0 }),
    );
    await pauseClock(page);
    await emit(page, "engine-event", price);
    await page.locator("#card").waitFor({ state: "visible" });
    await page.clock.runFor(4_900);
    expect(await page.locator("#card").getAttribute("data-phase")).toBe("shown");
    await page.clock.runFor(200);
    expect(await page.locator("#card").getAttribute("data-phase")).toBe("fading");
    await page.clock.runFor(1_000);
    expect(await page.locator("#card").isHidden()).toBe(true);

    // Pinned: stays.
    await emit(page, "engine-event", reorg);
    await page.locator("#card").waitFor({ state: "visible" });
    await page.keyboard.press("p");
    await page.clock.runFor(60_000);
    expect(await page.locator("#card").isVisible()).toBe(true);
    expect(await page.locator("#card").getAttribute("data-phase")).toBe("shown");
    // Unpinned: fades again.
    await page.keyboard.press("p");
    await page.clock.runFor(6_000);
    expect(await page.locator("#card").isHidden()).toBe(true);
    await expectClean(o!);
  });

  it("a silent microphone raises a visible alarm that stays until sound is back", async () => {
    const { page } = await openOverlay({}, async (p) => p.clock.install({ time: 0 }));
    const status = page.locator("#overlay-status");
    expect(await status.textContent()).toBe("");
    await emit(page, "engine-event", {
      type: "device",
      speaker: "rep",
      kind: "silent",
      device: "USB Headset Microphone",
      message: "microphone: nothing heard for 20 s; muted?",
    });
    await page.waitForFunction(() => document.getElementById("overlay-status")?.dataset.kind === "error");
    expect(await status.textContent()).toBe("microphone: nothing heard for 20 s; muted?");
    const box = await status.boundingBox();
    expect(box && box.width > 50 && box.height > 10).toBe(true);
    await page.clock.runFor(60_000);
    expect(await status.textContent()).toBe("microphone: nothing heard for 20 s; muted?");
    await shoot(page, "overlay-alarm", { omitBackground: true });
    await emit(page, "engine-event", {
      type: "device",
      speaker: "rep",
      kind: "audible",
      device: "USB Headset Microphone",
      message: "microphone: sound again",
    });
    await page.waitForFunction(() => document.getElementById("overlay-status")?.dataset.kind === "info");
    await page.clock.runFor(5_000);
    expect(await status.textContent()).toBe("");
    await expectClean(o!);
  });

  it("global shortcuts from Rust (overlay-action) act like keys", async () => {
    const { page } = await openOverlay();
    await emit(page, "engine-event", price);
    await page.locator("#card").waitFor({ state: "visible" });
    await emit(page, "overlay-action", { action: "next" });
    expect(await page.locator("#card-answers li.current .answer-text").textContent()).toBe(price.responses[1]!.text);
    await emit(page, "overlay-action", { action: "dismiss" });
    await page.locator("#card").waitFor({ state: "hidden" });
    expect((await calls(page, "card_feedback")).map((c) => c.args.action)).toEqual(["dismissed"]);
    await expectClean(o!);
  });
});
