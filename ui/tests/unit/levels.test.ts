import { describe, expect, it } from "vitest";
import { FLOOR_DB, levelFraction, levelLabel, meterLevels, smoothLevel } from "../../src/lib/levels";

describe("level meter scaling (rms_db in dBFS)", () => {
  it("maps 0 dBFS to 1 and the -60 dB floor (and the engine's -100 silence) to 0", () => {
    expect(levelFraction(0)).toBe(1);
    expect(levelFraction(FLOOR_DB)).toBe(0);
    expect(levelFraction(-100)).toBe(0);
  });

  it("is linear in dB: -30 dBFS is half, -6 dBFS is 0.9", () => {
    expect(levelFraction(-30)).toBeCloseTo(0.5, 6);
    expect(levelFraction(-6)).toBeCloseTo(0.9, 6);
  });

  it("typical speech (-20 dBFS) sits at two-thirds, not at the bottom", () => {
    expect(levelFraction(-20)).toBeCloseTo(2 / 3, 6);
  });

  it("clamps clipping and rejects NaN", () => {
    expect(levelFraction(3)).toBe(1);
    expect(levelFraction(Number.POSITIVE_INFINITY)).toBe(1);
    expect(levelFraction(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(levelFraction(Number.NaN)).toBe(0);
  });

  it("is monotonic", () => {
    let prev = -1;
    for (let db = -100; db <= 6; db += 0.5) {
      const f = levelFraction(db);
      expect(f).toBeGreaterThanOrEqual(prev);
      prev = f;
    }
  });

  it("honours a custom floor", () => {
    expect(levelFraction(-40, -80)).toBeCloseTo(0.5, 6);
  });

  it("labels", () => {
    expect(levelLabel(-20.4)).toBe("-20 dB");
    expect(levelLabel(-100)).toBe("silent");
    expect(levelLabel(2)).toBe("0 dB");
  });
});

describe("levels per meter", () => {
  it("takes rep and prospect channels from a level event", () => {
    expect(
      meterLevels([
        { speaker: "rep", rms_db: -18 },
        { speaker: "prospect", rms_db: -100 },
      ]),
    ).toEqual({ rep: -18, prospect: -100 });
  });

  it("a mono (unknown) channel drives the prospect meter; missing channels are null", () => {
    expect(meterLevels([{ speaker: "unknown", rms_db: -30 }])).toEqual({ rep: null, prospect: -30 });
    expect(meterLevels([])).toEqual({ rep: null, prospect: null });
    expect(
      meterLevels([
        { speaker: "unknown", rms_db: -30 },
        { speaker: "prospect", rms_db: -12 },
      ]).prospect,
    ).toBe(-12);
  });
});

describe("meter ballistics", () => {
  it("rises fast and falls slowly", () => {
    const up = smoothLevel(0, 1, 25);
    const down = 1 - smoothLevel(1, 0, 25);
    expect(up).toBeGreaterThan(0.6);
    expect(down).toBeLessThan(0.1);
  });

  it("converges to the target and never overshoots", () => {
    let v = 0;
    for (let i = 0; i < 200; i++) {
      v = smoothLevel(v, 0.7, 16);
      expect(v).toBeLessThanOrEqual(0.7);
    }
    expect(v).toBe(0.7);
    for (let i = 0; i < 400; i++) v = smoothLevel(v, 0.2, 16);
    expect(v).toBe(0.2);
  });

  it("does nothing for a zero or negative time step", () => {
    expect(smoothLevel(0.3, 1, 0)).toBe(0.3);
    expect(smoothLevel(0.3, 1, -5)).toBe(0.3);
  });
});
