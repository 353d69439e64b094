/** History panel: recent calls; click one for its transcript with the cards in place. */
import { commands, type CallDetail, type CallRecord } from "../ipc/contract";
import { byId, h, say } from "../lib/dom";
import { clock, errorText, score, when } from "../lib/format";

const SPEAKERS: Record<string, string> = { rep: "You", prospect: "Prospect", unknown: "Speaker" };

export class HistoryPanel {
  private readonly list = byId<HTMLUListElement>("history-list");
  private readonly detail = byId("history-detail");
  private readonly status = byId("history-status");

  async refresh(): Promise<void> {
    try {
      const calls = await commands.listCalls();
      if (calls.length === 0) {
        this.list.replaceChildren();
        say(this.status, "No calls yet. Replay a recording or start a live call.");
        return;
      }
      say(this.status, "");
      this.list.replaceChildren(...calls.map((c) => this.item(c)));
    } catch (e) {
      say(this.status, `Could not read the history: ${errorText(e)}`, "error");
    }
  }

  private item(c: CallRecord): HTMLLIElement {
    const button = h(
      "button",
      { type: "button", class: "call", "data-call": c.id, "aria-pressed": "false" },
      h("span", { class: "call-title", text: `#${c.id} ${c.kind}` }),
      h("span", { class: "call-source", text: c.source }),
      h(
        "span",
        { class: "call-meta muted small" },
        `${when(c.started_at_ms)} · ${c.duration_ms === null ? "–" : clock(c.duration_ms)} · ${c.cards} card${c.cards === 1 ? "" : "s"} · ${c.status}`,
      ),
    );
    button.addEventListener("click", () => void this.open(c.id, button));
    return h("li", {}, button);
  }

  async open(id: number, button?: HTMLElement): Promise<void> {
    for (const b of this.list.querySelectorAll("button.call")) b.setAttribute("aria-pressed", String(b === button));
    this.detail.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
    try {
      this.render(await commands.getCall(id));
    } catch (e) {
      this.detail.replaceChildren(h("p", { class: "error", text: `Could not open call #${id}: ${errorText(e)}` }));
    }
  }

  private render(d: CallDetail): void {
    const items: HTMLLIElement[] = [];
    const cards = [...d.cards].sort((a, b) => a.audio_ms - b.audio_ms);
    let ci = 0;
    const cardItem = (c: (typeof cards)[number]) =>
      h(
        "li",
        { class: "history-card", "data-objection": c.objection_id },
        h("span", { class: "line-time", text: clock(c.audio_ms) }),
        h("span", { class: "chip", text: c.category }),
        h("strong", { text: c.title }),
        h("span", { class: "muted small", text: ` score ${score(c.score)}${c.feedback.length ? " · " + c.feedback.join(", ") : ""}` }),
      );
    for (const s of d.segments) {
      while (ci < cards.length && cards[ci]!.audio_ms <= s.start_ms) items.push(cardItem(cards[ci++]!));
      items.push(
        h(
          "li",
          { class: "line", "data-speaker": s.speaker },
          h("span", { class: "line-time", text: clock(s.start_ms) }),
          h("span", { class: "line-who", text: SPEAKERS[s.speaker] ?? s.speaker }),
          h("span", { class: "line-text", text: s.text }),
        ),
      );
    }
    while (ci < cards.length) items.push(cardItem(cards[ci++]!));
    this.detail.replaceChildren(
      h("h3", { text: `Call #${d.call}` }),
      h("p", { class: "muted small", text: `${d.segments.length} transcript lines · ${d.cards.length} cards` }),
      h("ol", { class: "transcript history-transcript", "aria-label": `Transcript of call ${d.call}` }, ...items),
    );
  }
}
