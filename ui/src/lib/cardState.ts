/**
 * The overlay's card state machine, pure: no DOM, no timers, no IPC. Time comes in as
 * `now` (ms); side effects (card feedback to send) come out as `effects`. The
 * controller (cardController.ts) owns the clock and the timeout; the renderer only
 * reads the state.
 *
 *   empty ──show──► shown ──(showMs)──► fading ──(fadeMs)──► empty
 *                    ▲  │pin: no timer     │ any key / same card again
 *                    └──┴──────────────────┘
 *   dismiss (Esc) from shown/fading ──► empty, sends "dismissed"
 *
 * - show(card) with the objection already on screen updates it in place (keeps the
 *   highlighted answer, pin and helpful mark) and restarts the timer.
 * - show(card) with another objection replaces it (new serial, answer 0, unpinned).
 * - Any interaction (next, previous, helpful, used, unpin) restarts the fade timer;
 *   a pinned card never fades.
 */
import type { CardEvent, FeedbackAction } from "../ipc/contract";

export type Phase = "empty" | "shown" | "fading";

export interface CardState {
  card: CardEvent | null;
  /** Index of the highlighted answer in card.responses. */
  answer: number;
  pinned: boolean;
  helpful: boolean;
  /** Response ids marked as used. */
  used: string[];
  phase: Phase;
  /** When the card starts fading (ms), null when pinned or empty. */
  fadeAt: number | null;
  /** When the fade ends and the card goes away (ms), null when pinned or empty. */
  hideAt: number | null;
  /** Increases each time a different objection takes the card. */
  serial: number;
}

export interface CardConfig {
  /** How long a card stays fully visible. */
  showMs: number;
  /** How long the fade-out lasts (the CSS transition matches it). */
  fadeMs: number;
}

export const DEFAULT_CARD_CONFIG: CardConfig = { showMs: 12_000, fadeMs: 800 };

export type CardAction =
  | { type: "show"; card: CardEvent }
  | { type: "next" }
  | { type: "previous" }
  | { type: "pin" }
  | { type: "helpful" }
  | { type: "used" }
  | { type: "dismiss" }
  | { type: "tick" };

export interface FeedbackEffect {
  objection_id: string;
  action: FeedbackAction;
  response_id: string | null;
}

export interface Step {
  state: CardState;
  effects: FeedbackEffect[];
}

export const EMPTY: CardState = {
  card: null,
  answer: 0,
  pinned: false,
  helpful: false,
  used: [],
  phase: "empty",
  fadeAt: null,
  hideAt: null,
  serial: 0,
};

function timed(s: CardState, now: number, cfg: CardConfig): CardState {
  if (s.pinned || s.card === null) return { ...s, fadeAt: null, hideAt: null };
  return { ...s, phase: "shown", fadeAt: now + cfg.showMs, hideAt: now + cfg.showMs + cfg.fadeMs };
}

function cleared(s: CardState): CardState {
  return { ...EMPTY, serial: s.serial };
}

/** Advances the timers: shown → fading → empty. */
function tick(s: CardState, now: number): CardState {
  let out = s;
  if (out.phase === "shown" && out.fadeAt !== null && now >= out.fadeAt) out = { ...out, phase: "fading" };
  if (out.phase === "fading" && out.hideAt !== null && now >= out.hideAt) out = cleared(out);
  return out;
}

export function reduce(prev: CardState, action: CardAction, now: number, cfg: CardConfig = DEFAULT_CARD_CONFIG): Step {
  const s = tick(prev, now);
  const none = (state: CardState): Step => ({ state, effects: [] });

  if (action.type === "tick") return none(s);

  if (action.type === "show") {
    const card = action.card;
    if (s.card !== null && s.card.objection_id === card.objection_id) {
      const answer = Math.min(s.answer, Math.max(0, card.responses.length - 1));
      return none(timed({ ...s, card, answer, phase: "shown" }, now, cfg));
    }
    return none(timed({ ...EMPTY, card, phase: "shown", serial: s.serial + 1 }, now, cfg));
  }

  const card = s.card;
  if (card === null) return none(s); // nothing on screen: keys do nothing

  const n = card.responses.length;
  switch (action.type) {
    case "next":
      return none(timed({ ...s, answer: n === 0 ? 0 : (s.answer + 1) % n, phase: "shown" }, now, cfg));
    case "previous":
      return none(timed({ ...s, answer: n === 0 ? 0 : (s.answer - 1 + n) % n, phase: "shown" }, now, cfg));
    case "pin":
      return none(timed({ ...s, pinned: !s.pinned, phase: "shown" }, now, cfg));
    case "helpful": {
      const next = timed({ ...s, helpful: true, phase: "shown" }, now, cfg);
      const effects: FeedbackEffect[] = s.helpful
        ? []
        : [{ objection_id: card.objection_id, action: "helpful", response_id: null }];
      return { state: next, effects };
    }
    case "used": {
      const resp = card.responses[s.answer];
      const id = resp ? resp.id : null;
      const already = id !== null && s.used.includes(id);
      const next = timed({ ...s, used: id === null || already ? s.used : [...s.used, id], phase: "shown" }, now, cfg);
      const effects: FeedbackEffect[] = already ? [] : [{ objection_id: card.objection_id, action: "used", response_id: id }];
      return { state: next, effects };
    }
    case "dismiss":
      return {
        state: cleared(s),
        effects: [{ objection_id: card.objection_id, action: "dismissed", response_id: null }],
      };
  }
}

/** When the state next changes by itself (ms), or null if it never does. */
export function nextDeadline(s: CardState): number | null {
  if (s.card === null || s.pinned) return null;
  if (s.phase === "shown") return s.fadeAt;
  if (s.phase === "fading") return s.hideAt;
  return null;
}
