/**
 * The typed wrappers send exactly the command names and snake_case argument keys the
 * contract documents. Runs the real @tauri-apps/api invoke against its own mockIPC.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { COMMANDS, commands, DEFAULT_SETTINGS, EVENTS, hasBackend, withDefaults } from "../../src/ipc/contract";

const calls: { cmd: string; args: unknown }[] = [];

beforeAll(async () => {
  // mockIPC installs window.__TAURI_INTERNALS__; Node has no window, so lend it globalThis.
  (globalThis as { window?: unknown }).window = globalThis;
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return cmd === COMMANDS.startReplay ? { call_id: 7 } : null;
  });
});
afterAll(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});
beforeEach(() => {
  calls.length = 0;
});

describe("IPC contract", () => {
  it("names are unique, commands snake_case, events kebab-case", () => {
    const cmds = Object.values(COMMANDS);
    expect(new Set(cmds).size).toBe(cmds.length);
    for (const c of cmds) expect(c).toMatch(/^[a-z]+(_[a-z]+)*$/);
    const evs = Object.values(EVENTS);
    expect(new Set(evs).size).toBe(evs.length);
    for (const e of evs) expect(e).toMatch(/^[a-z]+(-[a-z]+)*$/);
    expect(EVENTS.engine).toBe("engine-event");
    expect(EVENTS.modelProgress).toBe("model-progress");
    expect(EVENTS.level).toBe("level");
  });

  it("the brief's commands all exist", () => {
    expect(Object.values(COMMANDS)).toEqual(
      expect.arrayContaining([
        "start_replay",
        "stop_session",
        "start_live",
        "list_devices",
        "models_status",
        "install_model",
        "library_search",
        "list_calls",
        "get_call",
        "card_feedback",
        "get_settings",
        "save_settings",
      ]),
    );
  });

  it("wrappers send the documented names and argument keys", async () => {
    expect(hasBackend()).toBe(true);
    await expect(commands.startReplay("/calls/a.flac", "fast")).resolves.toEqual({ call_id: 7 });
    await commands.startLive(null, "call.monitor");
    await commands.stopSession();
    await commands.installModel("base.en");
    await commands.librarySearch("too expensive");
    await commands.getCall(3);
    await commands.cardFeedback({ call_id: 3, objection_id: "price-too-expensive", action: "helpful", response_id: null });
    await commands.saveSettings(DEFAULT_SETTINGS);
    expect(calls).toEqual([
      { cmd: "start_replay", args: { path: "/calls/a.flac", pace: "fast" } },
      { cmd: "start_live", args: { mic: null, loopback: "call.monitor" } },
      { cmd: "stop_session", args: {} },
      { cmd: "install_model", args: { name: "base.en" } },
      { cmd: "library_search", args: { text: "too expensive" } },
      { cmd: "get_call", args: { id: 3 } },
      {
        cmd: "card_feedback",
        args: { call_id: 3, objection_id: "price-too-expensive", action: "helpful", response_id: null },
      },
      { cmd: "save_settings", args: { settings: DEFAULT_SETTINGS } },
    ]);
  });

  it("withDefaults fills settings written by an older version", () => {
    const s = withDefaults({ model: "base.en", hotkeys: { helpful: "y" } as never });
    expect(s.model).toBe("base.en");
    expect(s.card_fade_s).toBe(DEFAULT_SETTINGS.card_fade_s);
    expect(s.hotkeys.helpful).toBe("y");
    expect(s.hotkeys.dismiss).toBe("Escape");
  });
});
