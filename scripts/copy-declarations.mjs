// tsc emits declarations only for .ts sources: hand-written .d.ts files in ts/ (types of
// the .wasm subpaths, ambient declarations) are copied into dist/ beside them.
import { cpSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../ts/', import.meta.url));
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
for (const entry of readdirSync(src, { recursive: true })) {
  const name = String(entry);
  if (name.endsWith('.d.ts')) cpSync(`${src}${name}`, `${dist}${name}`);
}
