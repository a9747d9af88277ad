// Runs the Rust core's unit tests on the host.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hostCargo } from './toolchain.mjs';

const tc = hostCargo();
const r = spawnSync(tc.cargo, [...(tc.preArgs ?? []), 'test', '-p', 'wasmgrad-core', '-p', 'wasmgrad-wasm'], {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  stdio: 'inherit',
  env: { ...process.env, ...tc.env },
});
process.exit(r.status ?? 1);
