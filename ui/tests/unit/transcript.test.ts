import { describe, expect, it } from "vitest";
import type { TranscriptEvent } from "../../src/ipc/contract";
import { applyTranscript, tickerSegments, type Line } from "../../src/lib/transcript";
import { sampleEvents } from "../helpers";

const tr = (speaker: TranscriptEvent["speaker"], id: number, text: string, final = false): TranscriptEvent => ({
  type: "transcript",
  speaker,
  utterance_id: id,
  start_ms: id * 1000,
  end_ms: id * 1000 + 500,
  text,
  final,
});

function feed(events: TranscriptEvent[], max = 100): Line[] {
  return events.reduce<Line[]>((lines, e) => applyTranscript(lines, e, max), []);
}

describe("transcript lines", () => {
  it("partials are replaced in place by later partials and the final", () => {
    const lines = feed([tr("prospect", 1, "we have"), tr("prospect", 1, "we have no budget"), tr("prospect", 1, "We have no budget.", true)]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ key: "prospect:1", text: "We have no budget.", final: true });
  });

  it("a late partial does not overwrite a final", () => {
    const lines = feed([tr("rep", 2, "Hello there.", true), tr("rep", 2, "hello th")]);
    expect(lines[0]!.text).toBe("Hello there.");
    expect(lines[0]!.final).toBe(true);
  });

  it("keeps the position of a line that is updated after others were added", () => {
    const lines = feed([tr("rep", 1, "so"), tr("prospect", 2, "we"), tr("rep", 1, "so what do you think", true)]);
    expect(lines.map((l) => l.key)).toEqual(["rep:1", "prospect:2"]);
    expect(lines[0]!.text).toBe("so what do you think");
  });

  it("the sample call ends as its 17 final lines, in order", () => {
    const events = sampleEvents().filter((e): e is TranscriptEvent => e.type === "transcript");
    const lines = feed(events, 1000);
    expect(lines).toHaveLength(17);
    expect(lines.every((l) => l.final)).toBe(true);
    expect(lines[0]!.text).toBe("Hi Maria, it's Sam from Tallyline. Thanks for taking the call.");
    const starts = lines.map((l) => l.start_ms);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it("trims to the newest maxLines", () => {
    const lines = feed(Array.from({ length: 12 }, (_, i) => tr(i % 2 ? "rep" : "prospect", i, `line ${i}`, true)), 5);
    expect(lines.map((l) => l.text)).toEqual(["line 7", "line 8", "line 9", "line 10", "line 11"]);
  });

  it("trimming while replaying the sample never holds more than the limit", () => {
    let lines: Line[] = [];
    for (const e of sampleEvents()) {
      if (e.type !== "transcript") continue;
      lines = applyTranscript(lines, e, 4);
      expect(lines.length).toBeLessThanOrEqual(4);
    }
    expect(lines.map((l) => l.utterance_id)).toEqual([13, 14, 15, 16]);
  });
});

describe("ticker", () => {
  const lines = feed([
    tr("rep", 1, "Thanks for your time today.", true),
    tr("prospect", 2, "Honestly this is way too expensive for us right now.", true),
    tr("rep", 3, "Understood, can I ask", false),
  ]);

  it("shows whole lines when they fit, oldest first, with speakers", () => {
    const segs = tickerSegments(lines, 500);
    expect(segs.map((s) => [s.speaker, s.text, s.cut])).toEqual([
      ["rep", "Thanks for your time today.", false],
      ["prospect", "Honestly this is way too expensive for us right now.", false],
      ["rep", "Understood, can I ask", false],
    ]);
    expect(segs[2]!.final).toBe(false);
  });

  it("cuts the oldest shown line at the front, on a word boundary, within budget", () => {
    const segs = tickerSegments(lines, 60);
    const total = segs.reduce((n, s) => n + s.text.length, 0) + segs.length - 1;
    expect(total).toBeLessThanOrEqual(60);
    expect(segs.at(-1)!.text).toBe("Understood, can I ask");
    expect(segs[0]!.cut).toBe(true);
    expect(segs[0]!.speaker).toBe("prospect");
    expect("Honestly this is way too expensive for us right now.".endsWith(segs[0]!.text)).toBe(true);
    expect(segs[0]!.text.startsWith(" ")).toBe(false);
    expect(segs[0]!.text.split(" ")[0]).toMatch(/^[a-z]+$/i); // a whole word
  });

  it("always shows the newest line, cut if it alone is too long", () => {
    const segs = tickerSegments(lines, 10);
    expect(segs).toHaveLength(1);
    expect(segs[0]!.speaker).toBe("rep");
    expect(segs[0]!.cut).toBe(true);
    expect(segs[0]!.text.length).toBeLessThanOrEqual(10);
  });

  it("skips empty lines and handles an empty transcript", () => {
    expect(tickerSegments([], 80)).toEqual([]);
    const withEmpty = feed([tr("rep", 1, "hello", true), tr("prospect", 2, "   ")]);
    expect(tickerSegments(withEmpty, 80).map((s) => s.text)).toEqual(["hello"]);
  });
});
