/**
 * Overlay keyboard handling, pure. A hotkey is a KeyboardEvent.key value with optional
 * modifiers, e.g. "h", "Escape", "Shift+Tab", "Ctrl+Alt+H". Letters match either case.
 * The arrow keys always work as next/previous, whatever the settings say.
 */
import type { Hotkeys, OverlayAction } from "../ipc/contract";

export interface KeyLike {
  key: string;
  shiftKey: boolean;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

interface Combo {
  key: string;
  shift: boolean;
  ctrl: boolean;
  alt: boolean;
  meta: boolean;
}

export function parseHotkey(spec: string): Combo | null {
  const parts = spec.split("+").map((p) => p.trim());
  // "Ctrl++" style specs: a trailing empty part means the key is "+".
  if (parts.length > 1 && parts[parts.length - 1] === "" && parts[parts.length - 2] === "") {
    parts.splice(parts.length - 2, 2, "+");
  }
  const key = parts.pop();
  if (!key) return null;
  const mods = parts.map((p) => p.toLowerCase());
  const known = ["shift", "ctrl", "control", "alt", "option", "meta", "cmd", "super"];
  if (mods.some((m) => !known.includes(m))) return null;
  return {
    key: key.length === 1 ? key.toLowerCase() : key,
    shift: mods.includes("shift"),
    ctrl: mods.includes("ctrl") || mods.includes("control"),
    alt: mods.includes("alt") || mods.includes("option"),
    meta: mods.includes("meta") || mods.includes("cmd") || mods.includes("super"),
  };
}

function matches(c: Combo, e: KeyLike): boolean {
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (key !== c.key) return false;
  // Shift is implied by an upper-case letter; only compare it for non-letter keys.
  const letter = c.key.length === 1 && c.key.toLowerCase() !== c.key.toUpperCase();
  if (!letter && e.shiftKey !== c.shift) return false;
  if (letter && c.shift && !e.shiftKey) return false;
  return e.ctrlKey === c.ctrl && e.altKey === c.alt && e.metaKey === c.meta;
}

const ORDER: OverlayAction[] = ["previous", "next", "dismiss", "pin", "helpful", "used"];

/** The overlay action for a key press, or null. */
export function actionForKey(e: KeyLike, keys: Hotkeys): OverlayAction | null {
  const plain = !e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey;
  if (plain && e.key === "ArrowRight") return "next";
  if (plain && e.key === "ArrowLeft") return "previous";
  for (const action of ORDER) {
    const c = parseHotkey(keys[action]);
    if (c && matches(c, e)) return action;
  }
  return null;
}

/** Short label for a key hint, e.g. "Esc", "⇧Tab". */
export function keyLabel(spec: string): string {
  const names: Record<string, string> = { Escape: "Esc", ArrowRight: "→", ArrowLeft: "←", Enter: "↵", " ": "Space" };
  return spec
    .split("+")
    .map((p) => (p === "Shift" ? "⇧" : (names[p] ?? (p.length === 1 ? p.toUpperCase() : p))))
    .join("");
}
