/**
 * Builds the dashboard (`npm run build:web` = `vite build web`) into dist/web. Everything is bundled: no
 * fonts or scripts from other origins. `@qob/ws-client` is the repository's own WebSocket client.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: './',
  plugins: [react()],
  resolve: { alias: { '@qob/ws-client': here('../src/client/ws-client.ts') } },
  build: { outDir: here('../dist/web'), emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 1024 },
  server: { port: 5173 },
});
