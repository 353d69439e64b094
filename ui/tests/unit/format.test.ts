import { describe, expect, it } from "vitest";
import { bytes, clock, errorText, progressFraction, score } from "../../src/lib/format";

describe("format", () => {
  it("clock", () => {
    expect(clock(0)).toBe("00:00");
    expect(clock(78_929)).toBe("01:18");
    expect(clock(3_723_000)).toBe("1:02:03");
    expect(clock(-5)).toBe("00:00");
  });
  it("bytes", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(43_550_795)).toBe("43.6 MB");
    expect(bytes(487_614_201)).toBe("488 MB");
    expect(bytes(1_500_000_000)).toBe("1.5 GB");
  });
  it("score and progress", () => {
    expect(score(0.76055294)).toBe("0.76");
    expect(progressFraction(50, 200)).toBe(0.25);
    expect(progressFraction(50, null)).toBeNull();
    expect(progressFraction(500, 200)).toBe(1);
  });
  it("error text", () => {
    expect(errorText("no such file")).toBe("no such file");
    expect(errorText(new Error("boom"))).toBe("boom");
    expect(errorText({ code: 3 })).toBe('{"code":3}');
  });
});
