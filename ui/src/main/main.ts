/** Main window entry: tabs, the Live and Replay sessions, and the other panels. */
import "../styles/base.css";
import "./main.css";
import {
  commands,
  events,
  hasBackend,
  type DeviceList,
  type EngineEvent,
  type Pace,
  type SessionKind,
  type SessionState,
  withDefaults,
} from "../ipc/contract";
import { byId, say, setText } from "../lib/dom";
import { errorText } from "../lib/format";
import { HistoryPanel } from "./history";
import { LibraryPanel } from "./library";
import { Meters } from "./meters";
import { ModelsPanel } from "./models";
import { fillDevices } from "./selects";
import { SessionView } from "./sessionView";
import { SettingsPanel } from "./settings";
import { initTabs, type TabName } from "./tabs";

const IDLE: SessionState = { running: false, kind: null, call_id: null, source: null };

const $ = {
  badge: byId("session-badge"),
  banner: byId("backend-banner"),
  consent: byId<HTMLInputElement>("consent-ack"),
  liveMic: byId<HTMLSelectElement>("live-mic"),
  liveLoopback: byId<HTMLSelectElement>("live-loopback"),
  liveStart: byId<HTMLButtonElement>("live-start"),
  liveStop: byId<HTMLButtonElement>("live-stop"),
  liveRefresh: byId<HTMLButtonElement>("live-refresh"),
  liveHint: byId("live-start-hint"),
  liveStatus: byId("live-status"),
  replayForm: byId<HTMLFormElement>("replay-form"),
  replayPath: byId<HTMLInputElement>("replay-path"),
  replayBrowse: byId<HTMLButtonElement>("replay-browse"),
  replayPace: byId<HTMLSelectElement>("replay-pace"),
  replayStart: byId<HTMLButtonElement>("replay-start"),
  replayStop: byId<HTMLButtonElement>("replay-stop"),
  replayStatus: byId("replay-status"),
};

const views: Record<SessionKind, SessionView> = {
  live: new SessionView(byId("live-session"), "Live"),
  replay: new SessionView(byId("replay-session"), "Replay"),
};
const meters = new Meters(byId("meter-rep"), byId("meter-prospect"));
const models = new ModelsPanel();
const library = new LibraryPanel();
const history = new HistoryPanel();
const settings = new SettingsPanel();

let session: SessionState = IDLE;
/** Which view engine events go to: set before a start command, so early events land. */
let routeTo: SessionKind = "replay";
let starting = false;

// ---------------------------------------------------------------- session state

function statusFor(kind: SessionKind): HTMLElement {
  return kind === "live" ? $.liveStatus : $.replayStatus;
}

function renderSession(): void {
  const running = session.running || starting;
  $.badge.dataset.state = session.running ? "running" : "idle";
  setText(
    $.badge,
    session.running
      ? `${session.kind === "live" ? "Live call" : "Replay"} running${session.call_id !== null ? ` · call #${session.call_id}` : ""}`
      : "No call running",
  );
  $.replayStart.disabled = running;
  $.replayStop.disabled = !(session.running && session.kind === "replay");
  $.liveStop.disabled = !(session.running && session.kind === "live");
  $.liveStart.disabled = running || !$.consent.checked;
  $.liveHint.hidden = $.consent.checked || running;
  $.liveMic.disabled = running;
  $.liveLoopback.disabled = running;
}

function setSession(s: SessionState): void {
  const wasLive = session.running && session.kind === "live";
  session = s;
  if (s.kind) routeTo = s.kind;
  if (wasLive && !(s.running && s.kind === "live")) {
    // Consent is per call: the next live call asks again.
    $.consent.checked = false;
    meters.reset();
  }
  renderSession();
}

function onEngineEvent(ev: EngineEvent): void {
  if (ev.type === "level") {
    meters.update(ev);
    return;
  }
  views[routeTo].handle(ev);
  if (ev.type === "summary") {
    setSession({ ...session, running: false });
    say(statusFor(routeTo), "Finished.", "ok");
  }
}

async function startSession(kind: SessionKind, run: () => Promise<{ call_id: number | null }>, what: string): Promise<void> {
  if (session.running || starting) return;
  starting = true;
  routeTo = kind;
  views[kind].reset();
  renderSession();
  say(statusFor(kind), `Starting ${what}…`);
  try {
    const r = await run();
    starting = false;
    setSession({ running: true, kind, call_id: r.call_id, source: what });
    say(statusFor(kind), r.call_id === null ? "Running (not recorded)." : `Running — recording to call #${r.call_id}.`);
  } catch (e) {
    starting = false;
    renderSession();
    say(statusFor(kind), `Could not start: ${errorText(e)}`, "error");
  }
}

async function stopSession(kind: SessionKind): Promise<void> {
  try {
    await commands.stopSession();
    say(statusFor(kind), "Stopping…");
  } catch (e) {
    say(statusFor(kind), `Could not stop: ${errorText(e)}`, "error");
  }
}

// ---------------------------------------------------------------- live

$.consent.addEventListener("change", renderSession);

$.liveStart.addEventListener("click", () => {
  // The button is disabled without consent; this guards keyboard shortcuts and scripts too.
  if (!$.consent.checked) {
    say($.liveStatus, "Confirm recording consent first.", "error");
    $.consent.focus();
    return;
  }
  const mic = $.liveMic.value || null;
  const loopback = $.liveLoopback.value || null;
  void startSession("live", () => commands.startLive(mic, loopback), "live call");
});
$.liveStop.addEventListener("click", () => void stopSession("live"));
$.liveRefresh.addEventListener("click", () => void loadDevices());

async function loadDevices(): Promise<void> {
  try {
    const d: DeviceList = await commands.listDevices();
    fillDevices($.liveMic, d.mics, settings.current.mic);
    fillDevices($.liveLoopback, d.loopbacks, settings.current.loopback);
    settings.setDevices(d);
  } catch (e) {
    say($.liveStatus, `Could not list audio devices: ${errorText(e)}`, "error");
  }
}

// ---------------------------------------------------------------- replay

$.replayForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const path = $.replayPath.value.trim();
  if (path === "") {
    say($.replayStatus, "Choose an audio file first.", "error");
    $.replayPath.focus();
    return;
  }
  const pace = ($.replayPace.value === "fast" ? "fast" : "realtime") as Pace;
  void startSession("replay", () => commands.startReplay(path, pace), path);
});
$.replayStop.addEventListener("click", () => void stopSession("replay"));
$.replayBrowse.addEventListener("click", async () => {
  try {
    const path = await commands.pickAudioFile();
    if (path) $.replayPath.value = path;
  } catch (e) {
    say($.replayStatus, `Could not open the file picker: ${errorText(e)}`, "error");
  }
});

// ---------------------------------------------------------------- wiring

settings.onSettings = (s) => {
  $.replayPace.value = s.replay_pace;
};
models.onList = (list) => settings.setModels(list);

const loaded = new Set<TabName>();
initTabs((name) => {
  if (!hasBackend()) return;
  if (name === "history") void history.refresh(); // always fresh: calls end while we look elsewhere
  if (loaded.has(name)) return;
  loaded.add(name);
  if (name === "models") void models.refresh();
  if (name === "library") byId("library-text").focus();
});

async function start(): Promise<void> {
  renderSession();
  if (!hasBackend()) {
    $.banner.hidden = false;
    setText($.banner, "Not connected to the Cuecard engine: open this page inside the Cuecard app.");
    document.body.dataset.ready = "true";
    return;
  }
  await Promise.all([
    events.onEngineEvent(onEngineEvent),
    events.onSession(setSession),
    events.onLevel((p) => meters.update(p)),
    events.onModelProgress((p) => models.progress(p)),
    events.onSettingsChanged((s) => settings.apply(withDefaults(s))),
  ]);
  await settings.load();
  loaded.add("models");
  await Promise.all([
    loadDevices(),
    models.refresh(),
    commands
      .getSession()
      .then((s) => setSession(s ?? IDLE))
      .catch(() => undefined),
  ]);
  document.body.dataset.ready = "true";
}

void start();
