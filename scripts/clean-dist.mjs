// Empties dist/ of what tsc emitted, so renamed or deleted sources leave no stale modules
// behind to be packed (the .wasm binaries stay: build-wasm.mjs replaces them).
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
let entries = [];
try {
  entries = readdirSync(dist);
} catch {
  // no dist/ yet
}
for (const name of entries) {
  if (!name.endsWith('.wasm')) rmSync(`${dist}${name}`, { recursive: true, force: true });
}
