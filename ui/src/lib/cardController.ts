/**
 * Drives the pure card state machine with a real clock: applies actions, keeps one
 * timeout armed for the next fade step, and hands state changes and feedback effects
 * to callbacks. Still DOM-free, so it is unit-tested with fake timers.
 */
import type { CardEvent } from "../ipc/contract";
import {
  DEFAULT_CARD_CONFIG,
  EMPTY,
  nextDeadline,
  reduce,
  type CardAction,
  type CardConfig,
  type CardState,
  type FeedbackEffect,
} from "./cardState";

export interface CardControllerOptions {
  config?: CardConfig;
  now?: () => number;
  onChange: (s: CardState) => void;
  onEffect?: (e: FeedbackEffect) => void;
}

export class CardController {
  private s: CardState = EMPTY;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private cfg: CardConfig;
  private readonly now: () => number;

  constructor(private readonly opts: CardControllerOptions) {
    this.cfg = opts.config ?? DEFAULT_CARD_CONFIG;
    this.now = opts.now ?? (() => Date.now());
  }

  get state(): CardState {
    return this.s;
  }

  /** New timings apply from the next show or interaction. */
  configure(cfg: CardConfig): void {
    this.cfg = cfg;
  }

  show(card: CardEvent): void {
    this.dispatch({ type: "show", card });
  }

  dispatch(action: CardAction): void {
    const { state, effects } = reduce(this.s, action, this.now(), this.cfg);
    const changed = state !== this.s;
    this.s = state;
    this.arm();
    if (changed) this.opts.onChange(state);
    for (const e of effects) this.opts.onEffect?.(e);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const at = nextDeadline(this.s);
    if (at === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dispatch({ type: "tick" });
    }, Math.max(0, at - this.now()));
  }
}
