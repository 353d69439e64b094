/** Models panel: catalog status, install buttons, progress from `model-progress`. */
import { commands, type ModelProgress, type ModelStatus } from "../ipc/contract";
import { byId, h, say, setText } from "../lib/dom";
import { bytes, errorText, progressFraction } from "../lib/format";

interface Row {
  tr: HTMLTableRowElement;
  size: HTMLElement;
  state: HTMLElement;
  button: HTMLButtonElement;
  progress: HTMLProgressElement;
  detail: HTMLElement;
}

export class ModelsPanel {
  private readonly body = byId<HTMLTableSectionElement>("models-body");
  private readonly status = byId("models-status");
  private readonly rows = new Map<string, Row>();
  private readonly installing = new Set<string>();
  /** Called with the fresh list, e.g. to fill the settings' model select. */
  onList: (models: ModelStatus[]) => void = () => {};

  async refresh(): Promise<void> {
    try {
      const list = await commands.modelsStatus();
      this.render(list);
      this.onList(list);
      if (this.status.dataset.kind === "error") say(this.status, "");
    } catch (e) {
      say(this.status, `Could not read the models: ${errorText(e)}`, "error");
    }
  }

  private render(list: ModelStatus[]): void {
    const seen = new Set<string>();
    for (const m of list) {
      seen.add(m.name);
      const row = this.rows.get(m.name) ?? this.makeRow(m);
      this.fill(row, m);
    }
    for (const [name, row] of this.rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    }
  }

  private makeRow(m: ModelStatus): Row {
    const size = h("td", { class: "num" });
    const state = h("span", { class: "badge" });
    const detail = h("span", { class: "progress-detail", "aria-live": "polite" });
    const progress = h("progress", { max: 1, "aria-label": `Installing ${m.name}` }) as HTMLProgressElement;
    progress.hidden = true;
    const button = h("button", { type: "button", class: "small", "data-model": m.name, text: "Install" });
    button.setAttribute("aria-label", `Install ${m.name}`);
    button.addEventListener("click", () => void this.install(m.name));
    const tr = h(
      "tr",
      { "data-model": m.name },
      h(
        "td",
        {},
        h("div", { class: "model-name" }, h("strong", { text: m.name }), m.default ? h("span", { class: "badge", text: "default" }) : null),
        h("div", { class: "muted small", text: m.description }),
      ),
      size,
      h("td", {}, state, h("div", { class: "progress-cell" }, progress, detail)),
      h("td", { class: "right" }, button),
    );
    this.body.append(tr);
    const row = { tr, size, state, button, progress, detail };
    this.rows.set(m.name, row);
    return row;
  }

  private fill(row: Row, m: ModelStatus): void {
    setText(row.size, bytes(m.size));
    const busy = this.installing.has(m.name);
    row.state.dataset.kind = m.installed ? "ok" : "off";
    setText(row.state, m.installed ? "Installed" : busy ? "Installing…" : "Not installed");
    if (m.installed) row.state.title = m.installed;
    row.button.hidden = m.installed !== null;
    row.button.disabled = busy;
    if (!busy) {
      row.progress.hidden = true;
    }
  }

  async install(name: string): Promise<void> {
    const row = this.rows.get(name);
    if (!row || this.installing.has(name)) return;
    this.installing.add(name);
    row.button.disabled = true;
    setText(row.state, "Installing…");
    row.progress.hidden = false;
    row.progress.removeAttribute("value");
    setText(row.detail, "Starting…");
    try {
      const status = await commands.installModel(name);
      this.installing.delete(name);
      this.fill(row, status);
      setText(row.detail, "");
      say(this.status, `${name} installed.`, "ok");
      await this.refresh();
    } catch (e) {
      this.installing.delete(name);
      row.button.disabled = false;
      row.progress.hidden = true;
      setText(row.state, "Not installed");
      setText(row.detail, "");
      say(this.status, `Installing ${name} failed: ${errorText(e)}`, "error");
    }
  }

  progress(p: ModelProgress): void {
    const row = this.rows.get(p.name);
    if (!row) return;
    row.progress.hidden = false;
    switch (p.stage) {
      case "trying":
        row.progress.removeAttribute("value");
        setText(row.detail, `Trying ${p.source}`);
        break;
      case "source_failed":
        setText(row.detail, `Unavailable: ${p.source} (${p.reason}); trying the next source`);
        break;
      case "downloading": {
        const f = progressFraction(p.done, p.total);
        if (f === null) row.progress.removeAttribute("value");
        else row.progress.value = f;
        setText(row.detail, p.total ? `${bytes(p.done)} of ${bytes(p.total)}` : `${bytes(p.done)}`);
        break;
      }
      case "verifying":
        row.progress.removeAttribute("value");
        setText(row.detail, "Verifying checksum");
        break;
      case "converting":
        row.progress.removeAttribute("value");
        setText(row.detail, p.step);
        break;
      case "done":
        row.progress.value = 1;
        setText(row.detail, "Done");
        break;
    }
  }
}
