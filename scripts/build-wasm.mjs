// Builds crates/wasm for wasm32 with simd128 into dist/wasmgrad.wasm. Cargo's own
// incremental build makes a run with unchanged sources take about a second.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wasmToolchain } from './toolchain.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const tc = wasmToolchain();
const args = [
  ...tc.preArgs, 'build', '--release', '-p', 'wasmgrad-wasm',
  '--target', 'wasm32-unknown-unknown', '-Zbuild-std=std,panic_abort', ...tc.extraArgs,
];
const r = spawnSync(tc.cargo, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...tc.env, RUSTFLAGS: '-C target-feature=+simd128' },
});
if (r.status !== 0) {
  console.error(`wasmgrad: the wasm build failed (${tc.name}: ${tc.cargo} ${args.join(' ')})`);
  process.exit(r.status ?? 1);
}
const built = `${root}target/wasm32-unknown-unknown/release/wasmgrad_wasm.wasm`;
mkdirSync(`${root}dist`, { recursive: true });
copyFileSync(built, `${root}dist/wasmgrad.wasm`);
console.error(`wasmgrad: built dist/wasmgrad.wasm (${(statSync(built).size / 1024).toFixed(0)} KiB, ${tc.name})`);
