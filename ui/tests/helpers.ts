import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CardEvent, EngineEvent } from "../src/ipc/contract";
import { parseJsonLines } from "../src/ipc/parse";

export const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), "utf8");

/** The events of the bundled sample call, as `cuecard replay --json` printed them. */
export function sampleEvents(): EngineEvent[] {
  const { events, errors } = parseJsonLines(fixture("sample-call.replay.jsonl"));
  if (errors.length) throw new Error(`fixture does not parse: ${JSON.stringify(errors)}`);
  return events;
}

export function sampleCards(): CardEvent[] {
  return sampleEvents().filter((e): e is CardEvent => e.type === "card");
}
