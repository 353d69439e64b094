/** Per-channel level meters, animated with requestAnimationFrame and the ballistics in levels.ts. */
import type { LevelEvent } from "../ipc/contract";
import { setText } from "../lib/dom";
import { FLOOR_DB, levelFraction, levelLabel, meterLevels, smoothLevel } from "../lib/levels";

interface Meter {
  el: HTMLElement;
  fill: HTMLElement;
  db: HTMLElement | null;
  shown: number;
  target: number;
}

type Side = "rep" | "prospect";

export class Meters {
  private readonly meters: Record<Side, Meter>;
  private last = 0;
  private raf: number | null = null;

  constructor(rep: HTMLElement, prospect: HTMLElement) {
    const make = (el: HTMLElement): Meter => ({
      el,
      fill: el.querySelector<HTMLElement>(".meter-fill")!,
      db: el.parentElement?.querySelector<HTMLElement>(".meter-db") ?? null,
      shown: 0,
      target: 0,
    });
    this.meters = { rep: make(rep), prospect: make(prospect) };
  }

  update(ev: LevelEvent): void {
    const { rep, prospect } = meterLevels(ev.levels);
    if (rep !== null) this.set("rep", rep);
    if (prospect !== null) this.set("prospect", prospect);
    this.animate();
  }

  reset(): void {
    this.set("rep", FLOOR_DB);
    this.set("prospect", FLOOR_DB);
    this.animate();
  }

  private set(side: Side, rmsDb: number): void {
    const m = this.meters[side];
    m.target = levelFraction(rmsDb);
    const label = levelLabel(rmsDb);
    m.el.setAttribute("aria-valuetext", label);
    if (m.db) setText(m.db, label);
  }

  private animate(): void {
    if (this.raf !== null) return;
    this.last = performance.now();
    this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  private frame(t: number): void {
    const dt = Math.min(100, t - this.last);
    this.last = t;
    let moving = false;
    for (const m of Object.values(this.meters)) {
      m.shown = smoothLevel(m.shown, m.target, dt);
      m.fill.style.setProperty("--level", m.shown.toFixed(3));
      const pct = String(Math.round(m.shown * 100));
      if (m.el.getAttribute("aria-valuenow") !== pct) m.el.setAttribute("aria-valuenow", pct);
      if (m.shown !== m.target) moving = true;
    }
    this.raf = moving ? requestAnimationFrame((x) => this.frame(x)) : null;
  }
}
