import { resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

// The CSP meta tags in index.html / overlay.html are the production policy. `vite dev`
// needs an HMR websocket and injected <style> tags, so only the dev server relaxes it.
function devCsp(): Plugin {
  return {
    name: "cuecard-dev-csp",
    apply: "serve",
    transformIndexHtml(html) {
      return html
        .replace("connect-src ipc: http://ipc.localhost", "connect-src ipc: http://ipc.localhost ws://localhost:* ws://127.0.0.1:*")
        .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'");
    },
  };
}

export default defineConfig({
  // Relative asset URLs: the pages work from tauri://localhost/, a file server or a sub-path.
  base: "./",
  clearScreen: false,
  plugins: [devCsp()],
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // WebKitGTK / WKWebView (Linux, macOS) and WebView2 (Windows).
    target: ["es2021", "safari15", "chrome105"],
    // No inline module-preload polyfill script: the CSP allows only 'self' scripts.
    modulePreload: { polyfill: false },
    sourcemap: false,
    rollupOptions: {
      input: {
        main: resolve(__dirname, "index.html"),
        overlay: resolve(__dirname, "overlay.html"),
      },
      output: {
        // Code both windows use (IPC contract, pure logic, Tauri API, base styles).
        manualChunks: (id) =>
          id.includes("/node_modules/") || /\/src\/(ipc|lib|styles)\//.test(id) ? "shared" : undefined,
      },
    },
  },
});
