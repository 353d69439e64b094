import { describe, expect, it } from "vitest";
import { DEFAULT_HOTKEYS } from "../../src/ipc/contract";
import { actionForKey, keyLabel, parseHotkey, type KeyLike } from "../../src/lib/hotkeys";

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  key: k,
  shiftKey: false,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe("overlay keys", () => {
  it.each([
    [key("Tab"), "next"],
    [key("Tab", { shiftKey: true }), "previous"],
    [key("ArrowRight"), "next"],
    [key("ArrowLeft"), "previous"],
    [key("Escape"), "dismiss"],
    [key("p"), "pin"],
    [key("P", { shiftKey: true }), "pin"],
    [key("h"), "helpful"],
    [key("H"), "helpful"],
    [key("Enter"), "used"],
  ] as const)("%o → %s", (k, action) => {
    expect(actionForKey(k, DEFAULT_HOTKEYS)).toBe(action);
  });

  it("ignores other keys and modified letters", () => {
    expect(actionForKey(key("x"), DEFAULT_HOTKEYS)).toBeNull();
    expect(actionForKey(key("h", { ctrlKey: true }), DEFAULT_HOTKEYS)).toBeNull();
    expect(actionForKey(key("ArrowRight", { altKey: true }), DEFAULT_HOTKEYS)).toBeNull();
  });

  it("follows custom settings", () => {
    const keys = { ...DEFAULT_HOTKEYS, helpful: "Ctrl+Alt+H", dismiss: "q" };
    expect(actionForKey(key("h"), keys)).toBeNull();
    expect(actionForKey(key("h", { ctrlKey: true, altKey: true }), keys)).toBe("helpful");
    expect(actionForKey(key("q"), keys)).toBe("dismiss");
    expect(actionForKey(key("Escape"), keys)).toBeNull();
  });

  it("parses and rejects specs", () => {
    expect(parseHotkey("Shift+Tab")).toEqual({ key: "Tab", shift: true, ctrl: false, alt: false, meta: false });
    expect(parseHotkey("Ctrl++")?.key).toBe("+");
    expect(parseHotkey("")).toBeNull();
    expect(parseHotkey("Hyper+H")).toBeNull();
  });

  it("labels keys for the hint line", () => {
    expect(keyLabel("Escape")).toBe("Esc");
    expect(keyLabel("Shift+Tab")).toBe("⇧Tab");
    expect(keyLabel("h")).toBe("H");
  });
});
