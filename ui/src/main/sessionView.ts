/**
 * The transcript + cards view of a running (or finished) session, used by the Live and
 * Replay panels. Transcript lines update in place (partials → final).
 */
import type { CardEvent, DeviceEvent, EngineEvent, SummaryEvent, WarningEvent } from "../ipc/contract";
import { h, setText } from "../lib/dom";
import { clock, score } from "../lib/format";
import { applyTranscript, type Line } from "../lib/transcript";

const MAX_LINES = 2000;

const SPEAKER_NAMES = { rep: "You", prospect: "Prospect", unknown: "Speaker" } as const;

export class SessionView {
  private lines: Line[] = [];
  private readonly items = new Map<string, HTMLLIElement>();
  private readonly warnings = new Map<string, { n: number; el: HTMLLIElement }>();
  private readonly transcript: HTMLOListElement;
  private readonly transcriptBox: HTMLElement;
  private readonly cards: HTMLOListElement;
  private readonly cardsEmpty: HTMLElement;
  private readonly warningList: HTMLUListElement;
  private readonly summary: HTMLElement;

  constructor(root: HTMLElement, label: string) {
    const id = root.id;
    this.transcript = h("ol", { class: "transcript", id: `${id}-transcript` });
    this.transcriptBox = h(
      "div",
      { class: "transcript-box", role: "log", "aria-label": `${label} transcript`, tabindex: 0 },
      this.transcript,
    );
    this.cards = h("ol", { class: "cards", id: `${id}-cards`, "aria-label": `${label} cards` });
    this.cardsEmpty = h("p", { class: "muted", text: "No objections yet." });
    this.warningList = h("ul", { class: "warnings", "aria-label": "Warnings" });
    this.summary = h("div", { class: "summary", role: "status" });
    this.summary.hidden = true;
    root.replaceChildren(
      this.warningList,
      this.summary,
      h(
        "div",
        { class: "session-grid" },
        h("div", { class: "session-col" }, h("h3", { text: "Transcript" }), this.transcriptBox),
        h("div", { class: "session-col" }, h("h3", { text: "Cards" }), this.cardsEmpty, this.cards),
      ),
    );
  }

  reset(): void {
    this.lines = [];
    this.items.clear();
    this.warnings.clear();
    this.transcript.replaceChildren();
    this.cards.replaceChildren();
    this.warningList.replaceChildren();
    this.cardsEmpty.hidden = false;
    this.summary.hidden = true;
    this.summary.replaceChildren();
  }

  handle(ev: EngineEvent): void {
    switch (ev.type) {
      case "transcript":
        this.lines = applyTranscript(this.lines, ev, MAX_LINES);
        this.syncTranscript();
        break;
      case "card":
        this.addCard(ev);
        break;
      case "warning":
        this.addWarning(ev);
        break;
      case "device":
        this.deviceNotice(ev);
        break;
      case "summary":
        this.showSummary(ev);
        break;
      case "level":
        break; // the meters' business
    }
  }

  private syncTranscript(): void {
    const box = this.transcriptBox;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const keep = new Set(this.lines.map((l) => l.key));
    for (const [key, li] of this.items) {
      if (!keep.has(key)) {
        li.remove();
        this.items.delete(key);
      }
    }
    for (const l of this.lines) {
      let li = this.items.get(l.key);
      if (!li) {
        li = h(
          "li",
          { class: "line", "data-speaker": l.speaker, "data-key": l.key },
          h("span", { class: "line-time" }),
          h("span", { class: "line-who", text: SPEAKER_NAMES[l.speaker] }),
          h("span", { class: "line-text" }),
        );
        this.items.set(l.key, li);
        this.transcript.append(li);
      }
      li.classList.toggle("partial", !l.final);
      setText(li.children[0]!, clock(l.start_ms));
      setText(li.children[2]!, l.text);
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  private addCard(c: CardEvent): void {
    this.cardsEmpty.hidden = true;
    const li = h(
      "li",
      { class: "card-item", "data-objection": c.objection_id },
      h(
        "div",
        { class: "card-item-head" },
        h("span", { class: "chip", text: c.category }),
        h("strong", { class: "card-item-title", text: c.title }),
        h("span", { class: "card-item-meta", text: `${clock(c.audio_ms)} · score ${score(c.score)}${c.from_partial ? " · early" : ""}` }),
      ),
      h("p", { class: "card-item-heard" }, h("span", { class: "muted", text: "Heard: " }), `“${c.text}”`),
      h(
        "ol",
        { class: "card-item-answers" },
        ...c.responses.map((r) => h("li", {}, h("span", { class: "answer-kind", text: r.kind }), ` ${r.text}`)),
      ),
      h("p", { class: "why", text: c.why }),
    );
    this.cards.prepend(li);
  }

  private addWarning(w: WarningEvent): void {
    const seen = this.warnings.get(w.kind);
    if (seen) {
      seen.n += 1;
      setText(seen.el, `${w.message} (${seen.n}×)`);
      return;
    }
    const el = h("li", { class: "warning", "data-kind": w.kind, text: w.message });
    this.warnings.set(w.kind, { n: 1, el });
    this.warningList.append(el);
  }

  /** One line per side, replaced by that side's latest device news. */
  private deviceNotice(d: DeviceEvent): void {
    const key = `device:${d.speaker}`;
    const calm = d.kind === "opened" || d.kind === "audible";
    const seen = this.warnings.get(key);
    const el = seen?.el ?? h("li", { class: "warning" });
    el.dataset.kind = d.kind;
    el.classList.toggle("notice", calm);
    el.title = d.device;
    setText(el, d.message);
    if (!seen) {
      this.warnings.set(key, { n: 1, el });
      this.warningList.append(el);
    }
  }

  private showSummary(s: SummaryEvent): void {
    const talk = s.talk;
    const parts = [
      `${clock(s.duration_ms)} of call in ${clock(s.wall_ms)}`,
      `${s.cards.length} card${s.cards.length === 1 ? "" : "s"}`,
      `talk: you ${clock(talk.rep_ms)}, prospect ${clock(talk.prospect_ms + talk.unknown_ms)}`,
      `${s.asr.model}, real-time factor ${s.asr.real_time_factor.toFixed(2)}`,
    ];
    if (s.asr.partials_skipped > 0) parts.push(`${s.asr.partials_skipped} partials skipped`);
    this.summary.replaceChildren(
      h("strong", { text: s.call_id === null ? "Call ended (not recorded)" : `Call #${s.call_id} ended` }),
      ` — ${parts.join(" · ")}`,
    );
    this.summary.hidden = false;
  }
}
