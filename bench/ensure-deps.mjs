// Installs the benchmark's own dependencies (TF.js) on first use and checks that wasmgrad
// is built, so `npm run bench` works from a fresh checkout after `npm install`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bench = fileURLToPath(new URL('.', import.meta.url));
if (!existsSync(`${bench}../dist/node.js`)) {
  console.error('bench: wasmgrad is not built; run `npm install` (or `npm run build`) in the repository root first');
  process.exit(1);
}
if (!existsSync(`${bench}node_modules/@tensorflow/tfjs-backend-wasm`)) {
  console.error('bench: installing TensorFlow.js into bench/node_modules (once)…');
  // TF.js ships its .wasm files inside the package: no install scripts are needed.
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: bench, stdio: 'inherit' });
}
