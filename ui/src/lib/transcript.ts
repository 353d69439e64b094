/**
 * Transcript bookkeeping, pure: partial lines are replaced in place by later partials
 * and the final of the same utterance; the list is trimmed to the newest `maxLines`.
 * The overlay's ticker shows the tail of it cut to a character budget.
 */
import type { Speaker, TranscriptEvent } from "../ipc/contract";

export interface Line {
  /** `${speaker}:${utterance_id}` — one line per utterance. */
  key: string;
  speaker: Speaker;
  utterance_id: number;
  start_ms: number;
  end_ms: number;
  text: string;
  final: boolean;
}

export const lineKey = (speaker: Speaker, utteranceId: number): string => `${speaker}:${utteranceId}`;

/** Returns a new list with the event applied (replace by key, else append), trimmed. */
export function applyTranscript(lines: readonly Line[], ev: TranscriptEvent, maxLines: number): Line[] {
  const key = lineKey(ev.speaker, ev.utterance_id);
  const line: Line = {
    key,
    speaker: ev.speaker,
    utterance_id: ev.utterance_id,
    start_ms: ev.start_ms,
    end_ms: ev.end_ms,
    text: ev.text.trim(),
    final: ev.final,
  };
  const i = lines.findIndex((l) => l.key === key);
  let out: Line[];
  if (i >= 0) {
    // A late partial must not overwrite the final of the same utterance.
    if (lines[i]!.final && !ev.final) return lines.slice();
    out = lines.slice();
    out[i] = line;
  } else {
    out = [...lines, line];
  }
  return maxLines > 0 && out.length > maxLines ? out.slice(out.length - maxLines) : out;
}

export interface TickerSegment {
  key: string;
  speaker: Speaker;
  text: string;
  final: boolean;
  /** The front of the text was cut to fit. */
  cut: boolean;
}

/**
 * The newest lines that fit in `maxChars` (oldest first, for a left-to-right ticker).
 * The oldest segment shown is cut at the front, on a word boundary when possible, and
 * marked `cut`; empty lines are skipped. The newest line is always shown (cut if needed).
 */
export function tickerSegments(lines: readonly Line[], maxChars: number): TickerSegment[] {
  const out: TickerSegment[] = [];
  let budget = maxChars;
  for (let i = lines.length - 1; i >= 0 && budget > 0; i--) {
    const l = lines[i]!;
    if (l.text === "") continue;
    if (l.text.length <= budget) {
      out.unshift({ key: l.key, speaker: l.speaker, text: l.text, final: l.final, cut: false });
      budget -= l.text.length + 1; // one for the gap between segments
      continue;
    }
    if (out.length > 0 && budget < 12) break; // a sliver of an old line is noise
    let tail = l.text.slice(l.text.length - budget);
    const space = tail.indexOf(" ");
    if (space > 0 && space < tail.length - 1 && space < 16) tail = tail.slice(space + 1);
    out.unshift({ key: l.key, speaker: l.speaker, text: tail, final: l.final, cut: true });
    break;
  }
  return out;
}
