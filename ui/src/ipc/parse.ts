/**
 * Runtime validation of engine events (the types live in contract.ts). The UI never
 * trusts a payload's shape blindly: a malformed event is dropped, not rendered half.
 */
import type {
  CardBrief,
  CardEvent,
  CardResponse,
  ChannelLevel,
  DeviceEvent,
  DeviceEventKind,
  EngineEvent,
  LevelEvent,
  Speaker,
  SummaryEvent,
  TranscriptEvent,
  WarningEvent,
  WarningKind,
} from "./contract";

type Obj = Record<string, unknown>;

const SPEAKERS: readonly Speaker[] = ["rep", "prospect", "unknown"];
const DEVICE_KINDS: readonly DeviceEventKind[] = ["opened", "fallback", "lost", "open_failed", "silent", "audible"];

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isSpeaker = (v: unknown): v is Speaker => SPEAKERS.includes(v as Speaker);

function hasNums(o: Obj, keys: readonly string[]): boolean {
  return keys.every((k) => isNum(o[k]));
}
function hasStrs(o: Obj, keys: readonly string[]): boolean {
  return keys.every((k) => isStr(o[k]));
}

function transcript(o: Obj): TranscriptEvent | null {
  if (!isSpeaker(o.speaker) || !hasNums(o, ["utterance_id", "start_ms", "end_ms"])) return null;
  if (!isStr(o.text) || !isBool(o.final)) return null;
  return {
    type: "transcript",
    speaker: o.speaker,
    utterance_id: o.utterance_id as number,
    start_ms: o.start_ms as number,
    end_ms: o.end_ms as number,
    text: o.text,
    final: o.final,
  };
}

function response(v: unknown): CardResponse | null {
  if (!isObj(v) || !hasStrs(v, ["id", "kind", "text"])) return null;
  return { id: v.id as string, kind: v.kind as string, text: v.text as string };
}

function card(o: Obj): CardEvent | null {
  if (!isSpeaker(o.speaker)) return null;
  if (!hasStrs(o, ["category", "objection_id", "title", "text", "why", "matched_phrase"])) return null;
  if (!hasNums(o, ["score", "utterance_id", "utterance_start_ms", "audio_ms", "wall_ms"])) return null;
  if (!isBool(o.from_partial) || !Array.isArray(o.responses)) return null;
  const responses = o.responses.map(response);
  if (responses.some((r) => r === null)) return null;
  return {
    type: "card",
    speaker: o.speaker,
    category: o.category as string,
    objection_id: o.objection_id as string,
    title: o.title as string,
    score: o.score as number,
    utterance_id: o.utterance_id as number,
    utterance_start_ms: o.utterance_start_ms as number,
    audio_ms: o.audio_ms as number,
    wall_ms: o.wall_ms as number,
    from_partial: o.from_partial,
    text: o.text as string,
    responses: responses as CardResponse[],
    why: o.why as string,
    matched_phrase: o.matched_phrase as string,
  };
}

/** Unknown warning kinds (from a newer engine) pass: a warning is worth showing. */
function warning(o: Obj): WarningEvent | null {
  if (!isStr(o.kind) || o.kind === "" || !isStr(o.message)) return null;
  return { type: "warning", kind: o.kind as WarningKind, message: o.message };
}

function device(o: Obj): DeviceEvent | null {
  if (!isSpeaker(o.speaker) || !DEVICE_KINDS.includes(o.kind as DeviceEventKind)) return null;
  if (!isStr(o.device) || !isStr(o.message)) return null;
  return { type: "device", speaker: o.speaker, kind: o.kind as DeviceEventKind, device: o.device, message: o.message };
}

function channelLevel(v: unknown): ChannelLevel | null {
  if (!isObj(v) || !isSpeaker(v.speaker) || !isNum(v.rms_db)) return null;
  return { speaker: v.speaker, rms_db: v.rms_db };
}

function level(o: Obj): LevelEvent | null {
  if (!isNum(o.audio_ms) || !Array.isArray(o.levels)) return null;
  const levels = o.levels.map(channelLevel);
  if (levels.some((l) => l === null)) return null;
  return { type: "level", audio_ms: o.audio_ms, levels: levels as ChannelLevel[] };
}

function brief(v: unknown): CardBrief | null {
  if (!isObj(v) || !hasStrs(v, ["objection_id", "category", "title"]) || !hasNums(v, ["audio_ms", "wall_ms"])) {
    return null;
  }
  return {
    objection_id: v.objection_id as string,
    category: v.category as string,
    title: v.title as string,
    audio_ms: v.audio_ms as number,
    wall_ms: v.wall_ms as number,
  };
}

function summary(o: Obj): SummaryEvent | null {
  if (!(o.call_id === null || isNum(o.call_id)) || !hasNums(o, ["duration_ms", "wall_ms"])) return null;
  const { talk, asr } = o;
  if (!isObj(talk) || !hasNums(talk, ["rep_ms", "prospect_ms", "unknown_ms"])) return null;
  if (!isObj(asr) || !isStr(asr.model) || !hasNums(asr, ["real_time_factor", "finals", "partials", "partials_skipped"])) {
    return null;
  }
  if (!Array.isArray(o.cards)) return null;
  const cards = o.cards.map(brief);
  if (cards.some((c) => c === null)) return null;
  return {
    type: "summary",
    call_id: o.call_id as number | null,
    duration_ms: o.duration_ms as number,
    wall_ms: o.wall_ms as number,
    talk: { rep_ms: talk.rep_ms as number, prospect_ms: talk.prospect_ms as number, unknown_ms: talk.unknown_ms as number },
    cards: cards as CardBrief[],
    asr: {
      model: asr.model,
      real_time_factor: asr.real_time_factor as number,
      finals: asr.finals as number,
      partials: asr.partials as number,
      partials_skipped: asr.partials_skipped as number,
    },
  };
}

/** Validates one `engine-event` payload; null when it is not a well-formed event. */
export function parseEngineEvent(raw: unknown): EngineEvent | null {
  if (!isObj(raw)) return null;
  switch (raw.type) {
    case "transcript":
      return transcript(raw);
    case "card":
      return card(raw);
    case "warning":
      return warning(raw);
    case "device":
      return device(raw);
    case "level":
      return level(raw);
    case "summary":
      return summary(raw);
    default:
      return null;
  }
}

/** Parses `cuecard replay --json` output (JSON Lines); blank lines are skipped. */
export function parseJsonLines(text: string): { events: EngineEvent[]; errors: { line: number; reason: string }[] } {
  const events: EngineEvent[] = [];
  const errors: { line: number; reason: string }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      errors.push({ line: i + 1, reason: `not JSON: ${(e as Error).message}` });
      return;
    }
    const ev = parseEngineEvent(raw);
    if (ev) events.push(ev);
    else errors.push({ line: i + 1, reason: "not an engine event" });
  });
  return { events, errors };
}
