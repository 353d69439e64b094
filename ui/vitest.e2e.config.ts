import { defineConfig } from "vitest/config";

// Browser tests: Playwright (playwright-core) drives /usr/bin/chromium against the
// built ui/dist, with the Tauri IPC mocked in the page (see e2e/harness.ts).
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    globalSetup: ["e2e/global-setup.ts"],
  },
});
