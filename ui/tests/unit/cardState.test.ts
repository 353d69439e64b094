import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CardEvent } from "../../src/ipc/contract";
import { CardController } from "../../src/lib/cardController";
import { EMPTY, nextDeadline, reduce, type CardAction, type CardConfig, type CardState } from "../../src/lib/cardState";
import { sampleCards } from "../helpers";

const CFG: CardConfig = { showMs: 10_000, fadeMs: 500 };
const [price, reorg, later] = sampleCards() as [CardEvent, CardEvent, CardEvent];

/** Runs actions at the given times, collecting effects. */
function run(steps: [number, CardAction][], from: CardState = EMPTY) {
  let s = from;
  const effects: unknown[] = [];
  for (const [t, a] of steps) {
    const r = reduce(s, a, t, CFG);
    s = r.state;
    effects.push(...r.effects);
  }
  return { s, effects };
}

describe("card state machine (pure)", () => {
  it("shows a card with the first answer highlighted and a fade deadline", () => {
    const { s } = run([[1000, { type: "show", card: price }]]);
    expect(s.phase).toBe("shown");
    expect(s.card?.objection_id).toBe("price-too-expensive");
    expect(s.answer).toBe(0);
    expect(s.serial).toBe(1);
    expect(s.fadeAt).toBe(11_000);
    expect(s.hideAt).toBe(11_500);
    expect(nextDeadline(s)).toBe(11_000);
  });

  it("fades, then disappears, without sending feedback", () => {
    const shown = run([[0, { type: "show", card: price }]]).s;
    expect(reduce(shown, { type: "tick" }, 9_999, CFG).state.phase).toBe("shown");
    const fading = reduce(shown, { type: "tick" }, 10_000, CFG);
    expect(fading.state.phase).toBe("fading");
    expect(nextDeadline(fading.state)).toBe(10_500);
    const gone = reduce(fading.state, { type: "tick" }, 10_500, CFG);
    expect(gone.state.phase).toBe("empty");
    expect(gone.state.card).toBeNull();
    expect([...fading.effects, ...gone.effects]).toEqual([]);
    // A late tick that jumps past both deadlines also ends empty.
    expect(reduce(shown, { type: "tick" }, 60_000, CFG).state.phase).toBe("empty");
  });

  it("a different objection replaces the card: new serial, answer reset, unpinned", () => {
    const { s } = run([
      [0, { type: "show", card: price }],
      [100, { type: "next" }],
      [200, { type: "pin" }],
      [300, { type: "helpful" }],
      [5000, { type: "show", card: reorg }],
    ]);
    expect(s.card?.objection_id).toBe("timing-waiting-on-event");
    expect(s.serial).toBe(2);
    expect(s.answer).toBe(0);
    expect(s.pinned).toBe(false);
    expect(s.helpful).toBe(false);
    expect(s.fadeAt).toBe(15_000);
  });

  it("the same objection again updates in place and restarts the timer", () => {
    const updated: CardEvent = { ...price, text: "$19 a seat is way too expensive for us", from_partial: false };
    const { s } = run([
      [0, { type: "show", card: price }],
      [100, { type: "next" }],
      [100, { type: "helpful" }],
      [10_200, { type: "tick" }], // fading by now
      [10_300, { type: "show", card: updated }],
    ]);
    expect(s.phase).toBe("shown");
    expect(s.serial).toBe(1);
    expect(s.answer).toBe(1);
    expect(s.helpful).toBe(true);
    expect(s.card?.text).toBe(updated.text);
    expect(s.fadeAt).toBe(20_300);
  });

  it("next / previous cycle through the answers and keep the card up", () => {
    const n = price.responses.length;
    expect(n).toBe(3);
    let { s } = run([[0, { type: "show", card: price }]]);
    const seen: number[] = [];
    for (let i = 0; i < n + 1; i++) {
      s = reduce(s, { type: "next" }, 1000 * (i + 1), CFG).state;
      seen.push(s.answer);
    }
    expect(seen).toEqual([1, 2, 0, 1]);
    s = reduce(s, { type: "previous" }, 9000, CFG).state;
    s = reduce(s, { type: "previous" }, 9000, CFG).state;
    expect(s.answer).toBe(2);
    expect(s.fadeAt).toBe(19_000);
  });

  it("a pinned card never fades; unpinning restarts the timer", () => {
    let s = run([
      [0, { type: "show", card: price }],
      [1000, { type: "pin" }],
    ]).s;
    expect(s.pinned).toBe(true);
    expect(nextDeadline(s)).toBeNull();
    s = reduce(s, { type: "tick" }, 1_000_000, CFG).state;
    expect(s.phase).toBe("shown");
    s = reduce(s, { type: "pin" }, 1_000_000, CFG).state;
    expect(s.pinned).toBe(false);
    expect(nextDeadline(s)).toBe(1_010_000);
  });

  it("helpful sends feedback once", () => {
    const { s, effects } = run([
      [0, { type: "show", card: price }],
      [10, { type: "helpful" }],
      [20, { type: "helpful" }],
    ]);
    expect(s.helpful).toBe(true);
    expect(effects).toEqual([{ objection_id: "price-too-expensive", action: "helpful", response_id: null }]);
  });

  it("used sends the highlighted answer's id, once per answer", () => {
    const { s, effects } = run([
      [0, { type: "show", card: price }],
      [10, { type: "next" }],
      [20, { type: "used" }],
      [30, { type: "used" }],
    ]);
    expect(s.used).toEqual(["cost-of-a-deal"]);
    expect(effects).toEqual([{ objection_id: "price-too-expensive", action: "used", response_id: "cost-of-a-deal" }]);
  });

  it("dismiss clears the card and sends dismissed; keys on an empty overlay do nothing", () => {
    const { s, effects } = run([
      [0, { type: "show", card: later }],
      [10, { type: "dismiss" }],
      [20, { type: "dismiss" }],
      [30, { type: "helpful" }],
      [40, { type: "next" }],
    ]);
    expect(s.card).toBeNull();
    expect(s.phase).toBe("empty");
    expect(effects).toEqual([{ objection_id: "timing-revisit-later", action: "dismissed", response_id: null }]);
  });

  it("interacting with a fading card brings it back", () => {
    let s = run([[0, { type: "show", card: price }]]).s;
    s = reduce(s, { type: "tick" }, 10_100, CFG).state;
    expect(s.phase).toBe("fading");
    s = reduce(s, { type: "next" }, 10_200, CFG).state;
    expect(s.phase).toBe("shown");
    expect(s.fadeAt).toBe(20_200);
  });

  it("a card without responses is still shown and survives next", () => {
    const bare: CardEvent = { ...price, responses: [] };
    let s = run([[0, { type: "show", card: bare }]]).s;
    s = reduce(s, { type: "next" }, 1, CFG).state;
    expect(s.answer).toBe(0);
    const used = reduce(s, { type: "used" }, 2, CFG);
    expect(used.effects).toEqual([{ objection_id: price.objection_id, action: "used", response_id: null }]);
  });
});

describe("card controller (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function make() {
    const changes: CardState[] = [];
    const effects: unknown[] = [];
    const c = new CardController({ config: CFG, onChange: (s) => changes.push(s), onEffect: (e) => effects.push(e) });
    return { c, changes, effects };
  }

  it("fades after showMs and disappears after fadeMs", () => {
    const { c, changes } = make();
    c.show(price);
    expect(c.state.phase).toBe("shown");
    vi.advanceTimersByTime(9_999);
    expect(c.state.phase).toBe("shown");
    vi.advanceTimersByTime(1);
    expect(c.state.phase).toBe("fading");
    vi.advanceTimersByTime(499);
    expect(c.state.phase).toBe("fading");
    vi.advanceTimersByTime(1);
    expect(c.state.phase).toBe("empty");
    expect(changes.map((s) => s.phase)).toEqual(["shown", "fading", "empty"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("pin stops the fade; unpin starts a fresh one", () => {
    const { c } = make();
    c.show(price);
    vi.advanceTimersByTime(5_000);
    c.dispatch({ type: "pin" });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(120_000);
    expect(c.state.phase).toBe("shown");
    c.dispatch({ type: "pin" });
    vi.advanceTimersByTime(9_999);
    expect(c.state.phase).toBe("shown");
    vi.advanceTimersByTime(501);
    expect(c.state.phase).toBe("empty");
  });

  it("a replacing card gets its own full time; one timer at a time", () => {
    const { c } = make();
    c.show(price);
    vi.advanceTimersByTime(8_000);
    c.show(reorg);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(8_000); // 16 s after the first card, 8 s after the second
    expect(c.state.phase).toBe("shown");
    expect(c.state.card?.objection_id).toBe("timing-waiting-on-event");
    vi.advanceTimersByTime(2_500);
    expect(c.state.phase).toBe("empty");
  });

  it("hands feedback effects to onEffect and cancels the timer on dismiss", () => {
    const { c, effects } = make();
    c.show(price);
    c.dispatch({ type: "helpful" });
    c.dispatch({ type: "dismiss" });
    expect(effects).toEqual([
      { objection_id: "price-too-expensive", action: "helpful", response_id: null },
      { objection_id: "price-too-expensive", action: "dismissed", response_id: null },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("configure changes the time of the next card", () => {
    const { c } = make();
    c.configure({ showMs: 2_000, fadeMs: 100 });
    c.show(price);
    vi.advanceTimersByTime(2_100);
    expect(c.state.phase).toBe("empty");
  });

  it("dispose cancels the pending timer", () => {
    const { c } = make();
    c.show(price);
    c.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
