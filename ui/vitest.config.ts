import { defineConfig } from "vitest/config";

// Unit tests: pure logic only, in Node (no DOM, no browser).
export default defineConfig({
  test: {
    include: ["tests/unit/**/*.test.ts"],
    environment: "node",
  },
});
