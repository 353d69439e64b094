/** Settings panel: load, validate and save `Settings`. */
import {
  commands,
  withDefaults,
  type DeviceList,
  type Hotkeys,
  type MatcherKind,
  type ModelStatus,
  type Pace,
  type Settings,
} from "../ipc/contract";
import { byId, say } from "../lib/dom";
import { errorText } from "../lib/format";
import { parseHotkey } from "../lib/hotkeys";
import { fillDevices, fillSelect } from "./selects";

const HOTKEYS: (keyof Hotkeys)[] = ["next", "previous", "dismiss", "pin", "helpful", "used"];

export class SettingsPanel {
  private readonly form = byId<HTMLFormElement>("settings-form");
  private readonly status = byId("settings-status");
  private readonly mic = byId<HTMLSelectElement>("set-mic");
  private readonly loopback = byId<HTMLSelectElement>("set-loopback");
  private readonly repChannel = byId<HTMLSelectElement>("set-rep-channel");
  private readonly model = byId<HTMLSelectElement>("set-model");
  private readonly matcher = byId<HTMLSelectElement>("set-matcher");
  private readonly threshold = byId<HTMLInputElement>("set-threshold");
  private readonly fade = byId<HTMLInputElement>("set-fade");
  private readonly pace = byId<HTMLSelectElement>("set-pace");
  private settings: Settings = withDefaults(null);
  /** Called after a successful save or load. */
  onSettings: (s: Settings) => void = () => {};

  constructor() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.save();
    });
  }

  get current(): Settings {
    return this.settings;
  }

  async load(): Promise<void> {
    try {
      this.apply(withDefaults(await commands.getSettings()));
    } catch (e) {
      say(this.status, `Could not load settings: ${errorText(e)}`, "error");
    }
  }

  apply(s: Settings): void {
    this.settings = s;
    this.mic.value = s.mic ?? "";
    this.loopback.value = s.loopback ?? "";
    this.repChannel.value = s.rep_channel;
    this.ensureOption(this.model, s.model);
    this.model.value = s.model;
    this.matcher.value = s.matcher;
    this.threshold.value = s.threshold === null ? "" : String(s.threshold);
    this.fade.value = String(s.card_fade_s);
    this.pace.value = s.replay_pace;
    for (const k of HOTKEYS) byId<HTMLInputElement>(`key-${k}`).value = s.hotkeys[k];
    this.onSettings(s);
  }

  setDevices(d: DeviceList): void {
    fillDevices(this.mic, d.mics, this.settings.mic);
    fillDevices(this.loopback, d.loopbacks, this.settings.loopback);
  }

  setModels(models: ModelStatus[]): void {
    const speech = models.filter((m) => !m.name.includes("minilm"));
    fillSelect(
      this.model,
      speech.map((m) => ({ value: m.name, label: m.installed ? m.name : `${m.name} (not installed)` })),
      this.settings.model,
    );
  }

  /** The form's values, or an error message naming the bad field. */
  read(): { settings: Settings } | { error: string; field: HTMLElement } {
    const t = this.threshold.value.trim();
    const threshold = t === "" ? null : Number(t);
    if (threshold !== null && (!Number.isFinite(threshold) || threshold < 0 || threshold > 1)) {
      return { error: "The card threshold must be between 0 and 1, or empty.", field: this.threshold };
    }
    const fade = Number(this.fade.value);
    if (!Number.isFinite(fade) || fade < 2 || fade > 300) {
      return { error: "Cards must stay between 2 and 300 seconds.", field: this.fade };
    }
    const hotkeys = { ...this.settings.hotkeys };
    for (const k of HOTKEYS) {
      const input = byId<HTMLInputElement>(`key-${k}`);
      const v = input.value.trim();
      if (!parseHotkey(v)) return { error: `“${v}” is not a key (${k}).`, field: input };
      hotkeys[k] = v;
    }
    return {
      settings: {
        mic: this.mic.value || null,
        loopback: this.loopback.value || null,
        rep_channel: this.repChannel.value === "right" ? "right" : "left",
        model: this.model.value || this.settings.model,
        matcher: this.matcher.value as MatcherKind,
        threshold,
        card_fade_s: fade,
        replay_pace: this.pace.value as Pace,
        hotkeys,
      },
    };
  }

  async save(): Promise<void> {
    const r = this.read();
    if ("error" in r) {
      say(this.status, r.error, "error");
      r.field.setAttribute("aria-invalid", "true");
      r.field.focus();
      return;
    }
    for (const el of this.form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    try {
      const saved = withDefaults(await commands.saveSettings(r.settings));
      this.apply(saved);
      say(this.status, "Settings saved.", "ok");
    } catch (e) {
      say(this.status, `Could not save settings: ${errorText(e)}`, "error");
    }
  }

  private ensureOption(sel: HTMLSelectElement, value: string): void {
    if (!Array.from(sel.options).some((o) => o.value === value)) sel.add(new Option(value, value));
  }
}
