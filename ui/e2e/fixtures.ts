/** Replies of the mocked Rust side, built from real CLI output in tests/fixtures. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type {
  CallDetail,
  CallRecord,
  DeviceList,
  EngineEvent,
  LibrarySearchResult,
  ModelStatus,
  SearchCandidate,
  SessionState,
  Settings,
} from "../src/ipc/contract";

const read = (name: string) => readFileSync(fileURLToPath(new URL(`../tests/fixtures/${name}`, import.meta.url)), "utf8");

/** Every event of the sample call, as `cuecard replay --json` printed them. */
export const sampleEvents: EngineEvent[] = read("sample-call.replay.jsonl")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l));

export const sampleCards = sampleEvents.filter((e) => e.type === "card");

/** `Candidate::why()` as the engine formats it. */
function why(c: Omit<SearchCandidate, "why">): string {
  const parts = [`score ${c.score.toFixed(2)}`];
  if (c.semantic != null) parts.push(`semantic ${c.semantic.toFixed(2)}`);
  if (c.lexical != null) parts.push(`lexical ${c.lexical.toFixed(2)}`);
  parts.push(`bm25 ${c.bm25.toFixed(1)}`);
  return `"${c.span}" ≈ "${c.phrase}" (${parts.join(", ")})`;
}

const cli = JSON.parse(read("library-search-cli.json")) as Omit<LibrarySearchResult, "candidates"> & {
  candidates: Omit<SearchCandidate, "why">[];
};
export const librarySearch: LibrarySearchResult = {
  ...cli,
  candidates: cli.candidates.map((c) => ({ ...c, why: why(c) })),
};

export const models: ModelStatus[] = JSON.parse(read("models-list.json"));
export const calls: CallRecord[] = JSON.parse(read("history-list.json"));
export const call: CallDetail = JSON.parse(read("history-call.json"));

export const devices: DeviceList = {
  mics: [
    { id: "alsa_input.usb-headset", name: "USB Headset Microphone", is_default: true },
    { id: "alsa_input.pci-internal", name: "Built-in Microphone", is_default: false },
  ],
  loopbacks: [
    { id: "call.monitor", name: "Monitor of Call Audio", is_default: true },
    { id: "alsa_output.pci-internal.monitor", name: "Monitor of Built-in Speakers", is_default: false },
  ],
};

export const settings: Settings = {
  mic: null,
  loopback: null,
  rep_channel: "left",
  model: "tiny.en",
  matcher: "hybrid",
  threshold: null,
  card_fade_s: 12,
  replay_pace: "realtime",
  hotkeys: { next: "Tab", previous: "Shift+Tab", dismiss: "Escape", pin: "p", helpful: "h", used: "Enter" },
};

export const idle: SessionState = { running: false, kind: null, call_id: null, source: null };

/** What a freshly installed app with one recorded call answers. */
export function defaultReplies(): Record<string, unknown> {
  return {
    get_settings: settings,
    save_settings: settings,
    get_session: idle,
    list_devices: devices,
    models_status: models,
    library_search: librarySearch,
    list_calls: calls,
    get_call: call,
    card_feedback: null,
    stop_session: null,
    pick_audio_file: "/home/rep/calls/sample-call.flac",
  };
}
