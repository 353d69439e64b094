/** Library panel: "what would fire for this sentence", with the why of each candidate. */
import { commands, type LibrarySearchResult, type SearchCandidate } from "../ipc/contract";
import { byId, h, say } from "../lib/dom";
import { errorText, score } from "../lib/format";

const DEBOUNCE_MS = 300;

export class LibraryPanel {
  private readonly form = byId<HTMLFormElement>("library-form");
  private readonly input = byId<HTMLInputElement>("library-text");
  private readonly verdict = byId("library-verdict");
  private readonly results = byId<HTMLOListElement>("library-results");
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;

  constructor() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.search();
    });
    this.input.addEventListener("input", () => {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.search(), DEBOUNCE_MS);
    });
  }

  async search(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const text = this.input.value.trim();
    const seq = ++this.seq;
    if (text === "") {
      this.results.replaceChildren();
      say(this.verdict, "");
      return;
    }
    say(this.verdict, "Checking…");
    try {
      const r = await commands.librarySearch(text);
      if (seq !== this.seq) return; // a newer search is on its way
      this.render(r);
    } catch (e) {
      if (seq !== this.seq) return;
      this.results.replaceChildren();
      say(this.verdict, `Search failed: ${errorText(e)}`, "error");
    }
  }

  private render(r: LibrarySearchResult): void {
    const fired = r.candidates.find((c) => c.objection_id === r.fires);
    if (fired) say(this.verdict, `Fires: ${fired.title} (${fired.category})`, "ok");
    else say(this.verdict, `No card would fire (${r.matcher} matcher, threshold ${score(r.threshold)})`);
    this.results.replaceChildren(...r.candidates.map((c) => this.item(c, r)));
  }

  private item(c: SearchCandidate, r: LibrarySearchResult): HTMLLIElement {
    const fires = c.objection_id === r.fires;
    const state = c.suppressed ? "suppressed" : fires ? "fires" : c.score >= r.threshold ? "above" : "below";
    const stateText = {
      fires: "would fire",
      above: "above threshold",
      below: "below threshold",
      suppressed: "vetoed",
    }[state];
    const pct = Math.round(Math.min(1, Math.max(0, c.score)) * 100);
    const bar = h(
      "div",
      {
        class: "scorebar",
        role: "meter",
        "aria-label": `Score for ${c.title}`,
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": pct,
        "aria-valuetext": score(c.score),
      },
      h("div", { class: "scorebar-fill" }),
      h("div", { class: "scorebar-threshold" }),
    );
    (bar.firstElementChild as HTMLElement).style.setProperty("--value", String(pct / 100));
    (bar.lastElementChild as HTMLElement).style.setProperty("--value", String(Math.min(1, r.threshold)));
    return h(
      "li",
      { class: "candidate", "data-state": state, "data-objection": c.objection_id },
      h(
        "div",
        { class: "candidate-head" },
        h("strong", { class: "candidate-title", text: c.title }),
        h("span", { class: "chip", text: c.category }),
        h("span", { class: "candidate-state", text: stateText }),
        h("span", { class: "candidate-score", text: score(c.score) }),
      ),
      bar,
      h("p", { class: "candidate-why", text: c.why }),
      c.suppressed ? h("p", { class: "candidate-suppressed", text: `Vetoed: ${c.suppressed}` }) : null,
    );
  }
}
