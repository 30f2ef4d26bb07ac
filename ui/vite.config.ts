import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The shell loads `dist/` (tauri.conf.json `frontendDist: ../ui/dist`) and runs `npm run dev` on a fixed port
// for `tauri dev`; `strictPort` makes a busy port fail loudly instead of silently moving.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true, host: '127.0.0.1' },
  preview: { port: 4173, strictPort: false, host: '127.0.0.1' },
  build: {
    // Tauri's WebViews (WebView2, WebKitGTK 2.4x, WKWebView on macOS 11+) all handle ES2021.
    target: 'es2021',
    sourcemap: false,
  },
  // Vitest loads Svelte's client runtime (not the SSR one) so components mount in jsdom.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/test-setup.ts'],
    pool: 'threads',
    maxWorkers: 2,
  },
});
