// `npm install` in this repository builds wasmgrad (the Rust toolchain is installed first
// where that is possible, see scripts/toolchain.mjs). npm also runs `prepare` when someone
// installs the package from git and before `npm pack`: a consumer must never need Rust, and
// `prepack` does the publish build, so this builds only in the repository's own install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const ownInstall =
  process.env.INIT_CWD !== undefined &&
  resolve(process.env.INIT_CWD) === resolve(root) &&
  existsSync(`${root}crates`) &&
  !['pack', 'publish'].includes(process.env.npm_command ?? '');

if (!ownInstall) {
  console.error('wasmgrad: prepare: not this repository\'s own `npm install`; nothing to build');
  process.exit(0);
}
const npm = process.env.npm_execpath;
const r = npm
  ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
  : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(r.status ?? 1);
