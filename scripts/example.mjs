// npm run example -- <name> [args…]: runs examples/<name>.mjs against the built package.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const names = readdirSync(`${root}examples`).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4));
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.error(`usage: npm run example -- <name> [args]\nexamples: ${names.join(', ')}`);
  process.exit(2);
}
if (!existsSync(`${root}dist/node.js`) || !existsSync(`${root}dist/wasmgrad.wasm`)) {
  console.error('wasmgrad is not built yet: run `npm install` (or `npm run build`) first');
  process.exit(1);
}
const r = spawnSync(process.execPath, [`${root}examples/${name}.mjs`, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
