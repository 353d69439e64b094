/** Overlay window entry: wires IPC events and keys to the card controller and renderer. */
import "../styles/base.css";
import "./overlay.css";
import {
  commands,
  DEFAULT_SETTINGS,
  events,
  hasBackend,
  withDefaults,
  type Hotkeys,
  type OverlayAction,
  type Settings,
} from "../ipc/contract";
import { CardController } from "../lib/cardController";
import { DEFAULT_CARD_CONFIG, type CardAction } from "../lib/cardState";
import { say } from "../lib/dom";
import { errorText } from "../lib/format";
import { actionForKey } from "../lib/hotkeys";
import { applyTranscript, tickerSegments, type Line } from "../lib/transcript";
import { overlayEls, renderCard, renderKeys, renderTicker } from "./render";

const TICKER_LINES = 8;
const TICKER_CHARS = 64;

const els = overlayEls();
let keys: Hotkeys = DEFAULT_SETTINGS.hotkeys;
let callId: number | null = null;
let lines: Line[] = [];

let statusTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * A one-line notice: info is only announced (screen readers), errors are shown too.
 * Both clear after a while unless `sticky` (a muted or lost microphone stays until the
 * engine says it is back).
 */
function notify(text: string, kind: "info" | "error" | "ok" = "info", sticky = false): void {
  if (statusTimer !== null) clearTimeout(statusTimer);
  statusTimer = null;
  say(els.status, text, kind);
  if (!sticky) statusTimer = setTimeout(() => say(els.status, ""), kind === "error" ? 8_000 : 3_000);
}

const controller = new CardController({
  config: DEFAULT_CARD_CONFIG,
  onChange: (s) => renderCard(els, s),
  onEffect: (e) => {
    if (!hasBackend()) return;
    commands.cardFeedback({ call_id: callId, ...e }).catch((err) => notify(errorText(err), "error"));
  },
});

function applySettings(s: Settings): void {
  keys = s.hotkeys;
  controller.configure({ showMs: Math.max(1, s.card_fade_s) * 1000, fadeMs: DEFAULT_CARD_CONFIG.fadeMs });
  els.card.style.setProperty("--fade-ms", `${DEFAULT_CARD_CONFIG.fadeMs}ms`);
  renderKeys(els, keys);
}

const ACTIONS: Record<OverlayAction, CardAction> = {
  next: { type: "next" },
  previous: { type: "previous" },
  dismiss: { type: "dismiss" },
  pin: { type: "pin" },
  helpful: { type: "helpful" },
  used: { type: "used" },
};

function act(a: OverlayAction): void {
  controller.dispatch(ACTIONS[a]);
  if (a === "pin") notify(controller.state.pinned ? "Card pinned" : "Card unpinned");
  if (a === "helpful") notify("Marked helpful", "ok");
}

window.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement | null;
  // Let a focused button handle its own Enter/Space.
  if (t instanceof HTMLButtonElement && (e.key === "Enter" || e.key === " ")) return;
  const a = actionForKey(e, keys);
  if (a === null) return;
  e.preventDefault();
  act(a);
});

els.btnPin.addEventListener("click", () => act("pin"));
els.btnHelpful.addEventListener("click", () => act("helpful"));
els.btnDismiss.addEventListener("click", () => act("dismiss"));
els.answers.addEventListener("click", (e) => {
  const li = (e.target as HTMLElement).closest("li");
  if (!li) return;
  const i = Array.from(els.answers.children).indexOf(li);
  const s = controller.state;
  if (i < 0 || s.card === null) return;
  const steps = (i - s.answer + s.card.responses.length) % s.card.responses.length;
  for (let k = 0; k < steps; k++) controller.dispatch({ type: "next" });
});

async function start(): Promise<void> {
  applySettings(withDefaults(null));
  renderCard(els, controller.state);
  if (!hasBackend()) {
    say(els.idle, "Not connected to the Cuecard engine.", "error");
    document.body.dataset.ready = "true";
    return;
  }
  await Promise.all([
    events.onEngineEvent((ev) => {
      if (ev.type === "card") controller.show(ev);
      else if (ev.type === "transcript") {
        lines = applyTranscript(lines, ev, TICKER_LINES);
        renderTicker(els, tickerSegments(lines, TICKER_CHARS));
      } else if (ev.type === "warning") notify(ev.message, "error");
      else if (ev.type === "device") {
        // A muted or lost device matters mid-call; "opened"/"audible" clear the alarm.
        if (ev.kind === "opened" || ev.kind === "audible") notify(ev.message);
        else notify(ev.message, "error", ev.kind === "silent" || ev.kind === "lost" || ev.kind === "open_failed");
      }
    }),
    events.onSession((s) => {
      if (s.running && s.call_id !== callId) {
        lines = [];
        renderTicker(els, []);
      }
      callId = s.call_id;
    }),
    events.onSettingsChanged((s) => applySettings(withDefaults(s))),
    events.onOverlayAction((p) => act(p.action)),
  ]);
  try {
    const [settings, session] = await Promise.all([commands.getSettings(), commands.getSession()]);
    applySettings(withDefaults(settings));
    callId = session?.call_id ?? null;
  } catch (err) {
    notify(`Could not load settings: ${errorText(err)}`, "error");
  }
  document.body.dataset.ready = "true";
}

void start();
