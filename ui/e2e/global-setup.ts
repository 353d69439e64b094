/**
 * Before the browser tests: checks the build exists, bundles the IPC harness and starts
 * a static server for ui/dist on a free localhost port.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { build } from "vite";
import { serveStatic } from "./server";

const ui = resolve(dirname(fileURLToPath(import.meta.url)), "..");

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
    harnessPath: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dist = resolve(ui, "dist");
  for (const page of ["index.html", "overlay.html"]) {
    if (!existsSync(resolve(dist, page))) {
      throw new Error(`ui/dist/${page} is missing: run \`npm run build\` before \`npm run test:e2e\``);
    }
  }

  const out = await build({
    configFile: false,
    logLevel: "warn",
    build: {
      write: false,
      minify: false,
      lib: { entry: resolve(ui, "e2e/harness.ts"), formats: ["iife"], name: "CuecardHarness" },
    },
  });
  const outputs = (Array.isArray(out) ? out : [out]) as { output: { type: string; code?: string }[] }[];
  const chunk = outputs[0]!.output.find((o) => o.type === "chunk");
  if (!chunk?.code) throw new Error("could not bundle e2e/harness.ts");
  const harnessPath = resolve(ui, "node_modules/.cache/cuecard-e2e/harness.js");
  mkdirSync(dirname(harnessPath), { recursive: true });
  writeFileSync(harnessPath, chunk.code);

  mkdirSync(resolve(ui, "test-output"), { recursive: true });
  const server = await serveStatic(dist);
  project.provide("baseURL", server.url);
  project.provide("harnessPath", harnessPath);
  return () => server.close();
}
