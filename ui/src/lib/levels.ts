/**
 * Level meter maths, pure. The engine sends each channel's RMS in dBFS
 * (`ChannelLevel.rms_db`, -100 for digital silence). Meters map FLOOR_DB..0 dBFS
 * linearly to 0..1, so quiet speech still moves the bar and room noise does not.
 */
import type { ChannelLevel } from "../ipc/contract";

export const FLOOR_DB = -60;

/** Meter fill 0..1 for an RMS level in dBFS. */
export function levelFraction(rmsDb: number, floorDb: number = FLOOR_DB): number {
  if (Number.isNaN(rmsDb) || rmsDb <= floorDb) return 0;
  if (rmsDb >= 0) return 1;
  return (rmsDb - floorDb) / -floorDb;
}

/** Accessible text for a meter, e.g. "-23 dB" or "silent" (at or below the floor). */
export function levelLabel(rmsDb: number, floorDb: number = FLOOR_DB): string {
  if (Number.isNaN(rmsDb) || rmsDb <= floorDb) return "silent";
  return `${Math.round(Math.min(0, rmsDb))} dB`;
}

/**
 * The two meters' levels from one `LevelEvent`: the rep's channel, and the prospect's
 * (a mono "unknown" channel counts as the prospect's side). Missing channels are null.
 */
export function meterLevels(levels: readonly ChannelLevel[]): { rep: number | null; prospect: number | null } {
  let rep: number | null = null;
  let prospect: number | null = null;
  for (const l of levels) {
    if (l.speaker === "rep") rep = l.rms_db;
    else if (prospect === null || l.speaker === "prospect") prospect = l.rms_db;
  }
  return { rep, prospect };
}

export interface Ballistics {
  /** Time constant when the level rises (fast, so speech onsets show). */
  attackMs: number;
  /** Time constant when it falls (slow, so the bar does not flicker). */
  releaseMs: number;
}

export const DEFAULT_BALLISTICS: Ballistics = { attackMs: 25, releaseMs: 300 };

/** One smoothing step from `prev` towards `target` (both 0..1) after `dtMs`. */
export function smoothLevel(prev: number, target: number, dtMs: number, b: Ballistics = DEFAULT_BALLISTICS): number {
  if (dtMs <= 0) return prev;
  const tau = target > prev ? b.attackMs : b.releaseMs;
  const k = 1 - Math.exp(-dtMs / tau);
  const v = prev + (target - prev) * k;
  return Math.abs(v - target) < 1e-4 ? target : v;
}
