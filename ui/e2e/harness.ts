/**
 * Runs inside the page before the app's scripts (Playwright addInitScript), bundled to
 * an IIFE. It stands in for the Rust side at the IPC boundary, using the official
 * @tauri-apps/api/mocks: `mockIPC` answers `invoke` from a table the test provides and
 * records every call; with `shouldMockEvents` the app's `listen` registrations are
 * kept by the mock, and `emit` (the real @tauri-apps/api/event function) delivers
 * events to them exactly as the Tauri event system would.
 */
import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";

type Reply = unknown;
interface Deferred {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export interface Harness {
  /** Every command the app invoked, in order (event-plugin traffic excluded). */
  calls: { cmd: string; args: Record<string, unknown> }[];
  /**
   * Replies by command name. A value is returned as is; `{ __error: "msg" }` rejects with
   * the message (as a Rust `Err(String)` does); `{ __pending: true }` waits until the
   * test calls `settle(cmd, value)` or `fail(cmd, message)`.
   */
  replies: Record<string, Reply>;
  emit: (event: string, payload: unknown) => Promise<void>;
  settle: (cmd: string, value: unknown) => void;
  fail: (cmd: string, message: string) => void;
}

const pending = new Map<string, Deferred[]>();

const harness: Harness = {
  calls: [],
  replies: {},
  emit: (event, payload) => emit(event, payload),
  settle: (cmd, value) => pending.get(cmd)?.shift()?.resolve(value),
  fail: (cmd, message) => pending.get(cmd)?.shift()?.reject(message),
};

mockIPC(
  (cmd, args) => {
    harness.calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    const reply = harness.replies[cmd];
    if (reply && typeof reply === "object" && "__error" in reply) {
      throw (reply as { __error: string }).__error;
    }
    if (reply && typeof reply === "object" && "__pending" in reply) {
      return new Promise((resolve, reject) => {
        const list = pending.get(cmd) ?? [];
        list.push({ resolve, reject });
        pending.set(cmd, list);
      });
    }
    return reply === undefined ? null : reply;
  },
  { shouldMockEvents: true },
);

(window as unknown as { __cuecard: Harness }).__cuecard = harness;

// Record CSP violations so tests can assert there are none.
const violations: string[] = [];
(window as unknown as { __cspViolations: string[] }).__cspViolations = violations;
document.addEventListener("securitypolicyviolation", (e) => {
  violations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
