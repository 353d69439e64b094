import { describe, expect, it } from "vitest";
import { parseEngineEvent, parseJsonLines } from "../../src/ipc/parse";
import { fixture } from "../helpers";

const lines = fixture("sample-call.replay.jsonl").split("\n").filter((l) => l.trim() !== "");

describe("engine events from real `cuecard replay --json` output", () => {
  it("parses every line of the sample call", () => {
    const { events, errors } = parseJsonLines(fixture("sample-call.replay.jsonl"));
    expect(errors).toEqual([]);
    expect(events).toHaveLength(lines.length);
    const count = (t: string) => events.filter((e) => e.type === t).length;
    expect(count("transcript")).toBe(104);
    expect(count("card")).toBe(3);
    expect(count("summary")).toBe(1);
    expect(events.at(-1)?.type).toBe("summary");
  });

  it("keeps every field with its serde name and value (the TS types match events.rs)", () => {
    for (const line of lines) {
      const raw = JSON.parse(line);
      expect(parseEngineEvent(raw)).toEqual(raw);
    }
  });

  it("reads the card the engine fired on the price objection", () => {
    const card = parseEngineEvent(JSON.parse(lines.find((l) => l.includes('"type":"card"'))!));
    expect(card).toMatchObject({
      type: "card",
      speaker: "prospect",
      category: "price",
      objection_id: "price-too-expensive",
      title: "Too expensive",
      from_partial: true,
      audio_ms: 45600,
    });
    if (card?.type !== "card") throw new Error("not a card");
    expect(card.responses.map((r) => r.kind)).toEqual(["question", "reframe", "acknowledge"]);
    expect(card.why).toContain("≈");
  });

  it("reads the summary, call_id included", () => {
    const s = parseEngineEvent(JSON.parse(lines.at(-1)!));
    if (s?.type !== "summary") throw new Error("not a summary");
    expect(s.call_id).toBe(1);
    expect(s.cards.map((c) => c.objection_id)).toEqual([
      "price-too-expensive",
      "timing-waiting-on-event",
      "timing-revisit-later",
    ]);
    expect(s.asr.finals).toBe(17);
    expect(s.talk.unknown_ms).toBe(0);
  });

  it("accepts an unrecorded summary (call_id null) and warnings, including kinds added later", () => {
    const s = JSON.parse(lines.at(-1)!);
    expect(parseEngineEvent({ ...s, call_id: null })).toMatchObject({ type: "summary", call_id: null });
    const w = { type: "warning", kind: "asr_behind", message: "speech recognition is behind; skipped 2 partials" };
    expect(parseEngineEvent(w)).toEqual(w);
    for (const kind of ["audio_glitch", "echo", "some_future_kind"]) {
      expect(parseEngineEvent({ ...w, kind })).toEqual({ ...w, kind });
    }
  });
});

describe("live-capture events (events.rs DeviceEvent, LevelEvent)", () => {
  // Shapes as serde writes them: #[serde(tag = "type", rename_all = "snake_case")].
  const device = {
    type: "device",
    speaker: "rep",
    kind: "fallback",
    device: "default",
    message: "microphone switched to the default device default",
  };
  const level = {
    type: "level",
    audio_ms: 12_400,
    levels: [
      { speaker: "rep", rms_db: -23.5 },
      { speaker: "prospect", rms_db: -100 },
    ],
  };

  it("parses device events of every kind", () => {
    for (const kind of ["opened", "fallback", "lost", "open_failed", "silent", "audible"]) {
      expect(parseEngineEvent({ ...device, kind })).toEqual({ ...device, kind });
    }
    expect(parseEngineEvent({ ...device, kind: "exploded" })).toBeNull();
    expect(parseEngineEvent({ ...device, speaker: "both" })).toBeNull();
  });

  it("parses level events", () => {
    expect(parseEngineEvent(level)).toEqual(level);
    expect(parseEngineEvent({ ...level, levels: [{ speaker: "rep", rms_db: "loud" }] })).toBeNull();
    expect(parseEngineEvent({ ...level, levels: [{ speaker: "rep", rms: 0.1 }] })).toBeNull();
    expect(parseEngineEvent({ ...level, levels: undefined })).toBeNull();
  });
});

describe("malformed payloads are rejected", () => {
  const transcript = JSON.parse(lines[0]!);
  const card = JSON.parse(lines.find((l) => l.includes('"type":"card"'))!);

  it.each([
    ["not an object", "hello"],
    ["null", null],
    ["an array", [transcript]],
    ["unknown type", { ...transcript, type: "partial" }],
    ["camelCase type tag", { ...transcript, type: "Transcript" }],
    ["is_final instead of final", (({ final, ...t }) => ({ ...t, is_final: final }))(transcript)],
    ["unknown speaker", { ...transcript, speaker: "customer" }],
    ["string timestamp", { ...transcript, start_ms: "20410" }],
    ["card without responses", (({ responses, ...c }) => c)(card)],
    ["card with a bad response", { ...card, responses: [{ id: "x", text: "y" }] }],
    ["card with NaN score", { ...card, score: Number.NaN }],
    ["warning without a message", { type: "warning", kind: "asr_behind" }],
    ["warning with an empty kind", { type: "warning", kind: "", message: "x" }],
  ])("%s", (_name, raw) => {
    expect(parseEngineEvent(raw)).toBeNull();
  });

  it("reports bad JSON Lines with their line numbers", () => {
    const text = [lines[0], "", "{not json", JSON.stringify({ type: "nope" }), lines[1]].join("\n");
    const { events, errors } = parseJsonLines(text);
    expect(events).toHaveLength(2);
    expect(errors.map((e) => e.line)).toEqual([3, 4]);
    expect(errors[0]!.reason).toMatch(/not JSON/);
  });
});
