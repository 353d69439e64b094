/**
 * THE IPC CONTRACT between the Cuecard UI and the Rust/Tauri side.
 *
 * This file is the single source of truth for every command the UI invokes and every
 * event it listens to. The Rust side (src-tauri/) MUST match it exactly:
 *
 *  - Command names are the `COMMANDS` values. Argument objects are sent with
 *    snake_case keys as written here, so every `#[tauri::command]` must be declared
 *    with `#[tauri::command(rename_all = "snake_case")]` (Tauri 2 otherwise expects
 *    camelCase keys for multi-word parameters such as `call_id`).
 *  - Errors: a command that fails returns `Err(String)` (a human-readable message);
 *    the UI shows that message as is.
 *  - Event names are the `EVENTS` values; payloads are the serde JSON of the types
 *    below, emitted to all windows (`app.emit(name, payload)`).
 *  - The engine types (`EngineEvent` and friends) mirror
 *    crates/engine/src/events.rs: `#[serde(tag = "type", rename_all = "snake_case")]`,
 *    `Speaker` lowercase, `TranscriptEvent.is_final` renamed to `final`, and
 *    `Summary.call_id` is `Option<i64>` (null when the call was not recorded).
 *    `cuecard replay --json` prints exactly these objects, one per line.
 *
 * Nothing else in the UI may call `invoke` or `listen` directly: use `commands` and
 * `events` from here, so changing the contract is a change to this one file.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { parseEngineEvent } from "./parse";

// ---------------------------------------------------------------------------
// Engine events (crates/engine/src/events.rs)
// ---------------------------------------------------------------------------

/** `Speaker`, `#[serde(rename_all = "lowercase")]`. Only prospect/unknown fire cards. */
export type Speaker = "rep" | "prospect" | "unknown";

/** `TranscriptEvent`. Partials (`final: false`) are replaced by later lines of the same `utterance_id`. */
export interface TranscriptEvent {
  type: "transcript";
  speaker: Speaker;
  utterance_id: number;
  start_ms: number;
  end_ms: number;
  text: string;
  final: boolean;
}

/** `CardResponse`: one suggested answer; `kind` is e.g. "question", "reframe", "acknowledge". */
export interface CardResponse {
  id: string;
  kind: string;
  text: string;
}

/** `CardEvent`. */
export interface CardEvent {
  type: "card";
  speaker: Speaker;
  category: string;
  objection_id: string;
  title: string;
  score: number;
  utterance_id: number;
  utterance_start_ms: number;
  /** How much of the call (ms) had been fed to the engine when the card fired. */
  audio_ms: number;
  /** Wall-clock ms since the session started. */
  wall_ms: number;
  /** Fired on a partial transcript (before the speaker stopped). */
  from_partial: boolean;
  text: string;
  responses: CardResponse[];
  why: string;
  matched_phrase: string;
}

/**
 * `WarningKind`, snake_case. The parser also passes through kinds a newer engine may
 * add (shown with their message), so this union lists the known ones.
 */
export type WarningKind = "asr_behind" | "audio_glitch" | "echo";

/** `WarningEvent`. */
export interface WarningEvent {
  type: "warning";
  kind: WarningKind;
  message: string;
}

/** `DeviceEventKind`, snake_case. */
export type DeviceEventKind = "opened" | "fallback" | "lost" | "open_failed" | "silent" | "audible";

/** `DeviceEvent` (live capture): a device opened, was lost, fell back to the default, or went quiet. */
export interface DeviceEvent {
  type: "device";
  speaker: Speaker;
  kind: DeviceEventKind;
  device: string;
  message: string;
}

/** `ChannelLevel`: RMS in dBFS over the last chunk (-100 for digital silence). */
export interface ChannelLevel {
  speaker: Speaker;
  rms_db: number;
}

/** `LevelEvent`: loudness per channel, about five times a second (the meters). */
export interface LevelEvent {
  type: "level";
  audio_ms: number;
  levels: ChannelLevel[];
}

/** `TalkTime`. */
export interface TalkTime {
  rep_ms: number;
  prospect_ms: number;
  unknown_ms: number;
}

/** `CardBrief`. */
export interface CardBrief {
  objection_id: string;
  category: string;
  title: string;
  audio_ms: number;
  wall_ms: number;
}

/** `AsrStats`. */
export interface AsrStats {
  model: string;
  real_time_factor: number;
  finals: number;
  partials: number;
  partials_skipped: number;
}

/** `Summary` (event `type: "summary"`): the last event of a session. */
export interface SummaryEvent {
  type: "summary";
  call_id: number | null;
  duration_ms: number;
  wall_ms: number;
  talk: TalkTime;
  cards: CardBrief[];
  asr: AsrStats;
}

/** `Event`: what the engine emits (transcript | card | warning | device | level | summary). */
export type EngineEvent = TranscriptEvent | CardEvent | WarningEvent | DeviceEvent | LevelEvent | SummaryEvent;
export type EngineEventType = EngineEvent["type"];

// ---------------------------------------------------------------------------
// Shell types (new in the Tauri shell; Rust must define matching serde structs)
// ---------------------------------------------------------------------------

export type Pace = "realtime" | "fast";
export type MatcherKind = "bm25" | "semantic" | "hybrid";
export type FeedbackAction = "shown" | "dismissed" | "used" | "helpful";
export type SessionKind = "replay" | "live";

/** Returned by `start_replay` / `start_live`. `call_id` is null when the call is not recorded. */
export interface SessionStarted {
  call_id: number | null;
}

/** Payload of `session-state` and result of `get_session`. */
export interface SessionState {
  running: boolean;
  kind: SessionKind | null;
  call_id: number | null;
  /** The replayed file, or a description of the live devices. */
  source: string | null;
}

/** One capture device. `id` is what `start_live` and settings take back. */
export interface AudioDevice {
  id: string;
  name: string;
  is_default: boolean;
}

/** Result of `list_devices`: microphones (the rep) and loopback/monitor sources (the prospect). */
export interface DeviceList {
  mics: AudioDevice[];
  loopbacks: AudioDevice[];
}

/** `ModelStatus` from crates/engine/src/models/manager.rs (`installed` is the file path, or null). */
export interface ModelStatus {
  name: string;
  description: string;
  size: number;
  installed: string | null;
  default: boolean;
}

/**
 * Payload of `model-progress`: `{ name, stage, ... }`, i.e. the model name plus
 * `InstallProgress` serialised with `#[serde(tag = "stage", rename_all = "snake_case")]`
 * (flattened). `install_model` itself resolves with the final `ModelStatus` or rejects
 * with the error message.
 */
export type InstallProgress =
  | { stage: "trying"; source: string }
  | { stage: "source_failed"; source: string; reason: string }
  | { stage: "downloading"; done: number; total: number | null }
  | { stage: "verifying" }
  | { stage: "converting"; step: string }
  | { stage: "done"; path: string };
export type ModelProgress = { name: string } & InstallProgress;

/**
 * One ranked objection for `library_search`: the engine's `matcher::Candidate` plus
 * `why` (the string `Candidate::why()` returns).
 */
export interface SearchCandidate {
  objection_id: string;
  category: string;
  title: string;
  score: number;
  /** The library phrasing that matched best. */
  phrase: string;
  /** The part of the sentence that matched it. */
  span: string;
  why: string;
  bm25: number;
  semantic?: number | null;
  lexical?: number | null;
  /** Set when a rule or a must-not-fire phrasing vetoed this candidate. */
  suppressed: string | null;
}

/** Result of `library_search` (same shape as `cuecard library search --json`, plus `why`). */
export interface LibrarySearchResult {
  text: string;
  matcher: string;
  threshold: number;
  /** The objection_id that would fire, or null. */
  fires: string | null;
  candidates: SearchCandidate[];
}

/** `store::CallRecord` (`list_calls` returns the most recent first). */
export interface CallRecord {
  id: number;
  kind: string;
  source: string;
  model: string;
  started_at_ms: number;
  duration_ms: number | null;
  status: string;
  cards: number;
}

/** `store::SegmentRecord`. */
export interface SegmentRecord {
  speaker: string;
  start_ms: number;
  end_ms: number;
  text: string;
}

/** `store::CardRecord`. `feedback` lists the actions recorded ("shown", "helpful", ...). */
export interface CardRecord {
  id: number;
  objection_id: string;
  category: string;
  title: string;
  score: number;
  audio_ms: number;
  text: string;
  feedback: string[];
}

/** Result of `get_call` (same shape as `cuecard history ID --json`). */
export interface CallDetail {
  call: number;
  segments: SegmentRecord[];
  cards: CardRecord[];
}

/**
 * Arguments of `card_feedback`. Rust maps (call_id, objection_id) to the latest card of
 * that objection in that call and stores `action` with `store.add_feedback`. "shown" is
 * already recorded by the engine when a card is stored; the overlay does not send it.
 * `call_id` is null when the session is not recorded (Rust then ignores the feedback).
 */
export interface CardFeedback {
  call_id: number | null;
  objection_id: string;
  action: FeedbackAction;
  /** For "used": which answer the rep used. */
  response_id: string | null;
}

/** Overlay keys (KeyboardEvent.key values). Rust may also register them as global shortcuts. */
export interface Hotkeys {
  next: string;
  previous: string;
  dismiss: string;
  pin: string;
  helpful: string;
  used: string;
}

/** `get_settings` / `save_settings`. Missing fields take the defaults below. */
export interface Settings {
  /** Device ids from `list_devices`; null = system default. */
  mic: string | null;
  loopback: string | null;
  /** Which stereo channel is the rep in replays. */
  rep_channel: "left" | "right";
  /** Speech model name from `models_status`. */
  model: string;
  matcher: MatcherKind;
  /** Card threshold; null = the matcher's calibrated default. */
  threshold: number | null;
  /** Seconds a card stays on the overlay unless pinned. */
  card_fade_s: number;
  replay_pace: Pace;
  hotkeys: Hotkeys;
}

export const DEFAULT_HOTKEYS: Hotkeys = {
  next: "Tab",
  previous: "Shift+Tab",
  dismiss: "Escape",
  pin: "p",
  helpful: "h",
  used: "Enter",
};

export const DEFAULT_SETTINGS: Settings = {
  mic: null,
  loopback: null,
  rep_channel: "left",
  model: "tiny.en",
  matcher: "hybrid",
  threshold: null,
  card_fade_s: 12,
  replay_pace: "realtime",
  hotkeys: DEFAULT_HOTKEYS,
};


/** Payload of `overlay-action`: sent by Rust when a global shortcut fires. */
export type OverlayAction = "next" | "previous" | "dismiss" | "pin" | "helpful" | "used";
export interface OverlayActionPayload {
  action: OverlayAction;
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

/** Every command the UI invokes. */
export const COMMANDS = {
  /** {path, pace} → SessionStarted. Replays an audio file through the pipeline. */
  startReplay: "start_replay",
  /** {mic, loopback} (device ids or null) → SessionStarted. */
  startLive: "start_live",
  /** {} → void. Stops the running session; its `summary` event still arrives. */
  stopSession: "stop_session",
  /** {} → SessionState. */
  getSession: "get_session",
  /** {} → DeviceList. */
  listDevices: "list_devices",
  /** {} → string | null. Native "open audio file" dialog; null when cancelled. */
  pickAudioFile: "pick_audio_file",
  /** {} → ModelStatus[]. */
  modelsStatus: "models_status",
  /** {name} → ModelStatus, with `model-progress` events while it runs. */
  installModel: "install_model",
  /** {text} → LibrarySearchResult: what would fire for this sentence, and why. */
  librarySearch: "library_search",
  /** {} → CallRecord[] (most recent first). */
  listCalls: "list_calls",
  /** {id} → CallDetail. */
  getCall: "get_call",
  /** CardFeedback → void. */
  cardFeedback: "card_feedback",
  /** {} → Settings. */
  getSettings: "get_settings",
  /** {settings} → Settings (as stored); Rust then emits `settings-changed`. */
  saveSettings: "save_settings",
} as const;
export type CommandName = (typeof COMMANDS)[keyof typeof COMMANDS];

/** Every event the UI listens to. */
export const EVENTS = {
  /**
   * EngineEvent: transcript | card | warning | device | summary. The shell sends every
   * engine `Event` here except `Event::Level`, which goes to `level`.
   */
  engine: "engine-event",
  /** ModelProgress. */
  modelProgress: "model-progress",
  /**
   * LevelEvent (the engine's `Event::Level`, `type` tag included), about five times a
   * second while a session runs with levels on. A level event arriving on
   * `engine-event` is handled the same way.
   */
  level: "level",
  /** SessionState, whenever a session starts or ends. */
  session: "session-state",
  /** Settings, after `save_settings`. */
  settingsChanged: "settings-changed",
  /** OverlayActionPayload, from global shortcuts. */
  overlayAction: "overlay-action",
} as const;
export type EventName = (typeof EVENTS)[keyof typeof EVENTS];

// ---------------------------------------------------------------------------
// Typed wrappers
// ---------------------------------------------------------------------------

/** Commands, typed. Each rejects with the Rust error string. */
export const commands = {
  startReplay: (path: string, pace: Pace) => invoke<SessionStarted>(COMMANDS.startReplay, { path, pace }),
  startLive: (mic: string | null, loopback: string | null) =>
    invoke<SessionStarted>(COMMANDS.startLive, { mic, loopback }),
  stopSession: () => invoke<void>(COMMANDS.stopSession),
  getSession: () => invoke<SessionState>(COMMANDS.getSession),
  listDevices: () => invoke<DeviceList>(COMMANDS.listDevices),
  pickAudioFile: () => invoke<string | null>(COMMANDS.pickAudioFile),
  modelsStatus: () => invoke<ModelStatus[]>(COMMANDS.modelsStatus),
  installModel: (name: string) => invoke<ModelStatus>(COMMANDS.installModel, { name }),
  librarySearch: (text: string) => invoke<LibrarySearchResult>(COMMANDS.librarySearch, { text }),
  listCalls: () => invoke<CallRecord[]>(COMMANDS.listCalls),
  getCall: (id: number) => invoke<CallDetail>(COMMANDS.getCall, { id }),
  cardFeedback: (f: CardFeedback) => invoke<void>(COMMANDS.cardFeedback, { ...f }),
  getSettings: () => invoke<Settings>(COMMANDS.getSettings),
  saveSettings: (settings: Settings) => invoke<Settings>(COMMANDS.saveSettings, { settings }),
};

/** Event subscriptions, typed. Each resolves to an unlisten function. */
export const events = {
  /** Raw payloads are validated (see parse.ts); malformed ones are dropped with a console warning. */
  onEngineEvent: (cb: (e: EngineEvent) => void): Promise<UnlistenFn> =>
    listen<unknown>(EVENTS.engine, (msg) => {
      const ev = parseEngineEvent(msg.payload);
      if (ev) cb(ev);
      else console.warn("cuecard: dropped malformed engine-event", msg.payload);
    }),
  onModelProgress: (cb: (p: ModelProgress) => void) => listen<ModelProgress>(EVENTS.modelProgress, (m) => cb(m.payload)),
  onLevel: (cb: (p: LevelEvent) => void) =>
    listen<unknown>(EVENTS.level, (m) => {
      const ev = parseEngineEvent(m.payload);
      if (ev?.type === "level") cb(ev);
      else console.warn("cuecard: dropped malformed level event", m.payload);
    }),
  onSession: (cb: (s: SessionState) => void) => listen<SessionState>(EVENTS.session, (m) => cb(m.payload)),
  onSettingsChanged: (cb: (s: Settings) => void) => listen<Settings>(EVENTS.settingsChanged, (m) => cb(m.payload)),
  onOverlayAction: (cb: (a: OverlayActionPayload) => void) =>
    listen<OverlayActionPayload>(EVENTS.overlayAction, (m) => cb(m.payload)),
};

/** True inside the Tauri webview (or under `mockIPC`); false in a plain browser tab. */
export function hasBackend(): boolean {
  const w = globalThis as unknown as { __TAURI_INTERNALS__?: { invoke?: unknown } };
  return typeof w.__TAURI_INTERNALS__?.invoke === "function";
}

/** Settings from Rust, with defaults for anything missing (older settings files). */
export function withDefaults(s: Partial<Settings> | null | undefined): Settings {
  return {
    ...DEFAULT_SETTINGS,
    ...(s ?? {}),
    hotkeys: { ...DEFAULT_HOTKEYS, ...(s?.hotkeys ?? {}) },
  };
}
