import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/**
 * The web client's production build (`npm run build:web` → packages/web/dist), served by the
 * server at `/` (packages/server/src/http/web-app.ts). Preact's automatic JSX runtime through
 * Vite's own transform, no plugin. No inline scripts or styles (the server's CSP forbids them):
 * Vite emits the entry as a module file and CSS as files; `modulePreload.polyfill` is off because
 * Chromium, Firefox and Safari all support modulepreload.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: [
      { find: /^crypto$/, replacement: fileURLToPath(new URL('src/node-crypto-stub.ts', import.meta.url)) },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 2048,
  },
})
