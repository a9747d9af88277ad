// npm's prepack/postpack: builds for publishing, and packs a package.json without the
// repository's `prepare` hook (npm 11 warns about any install-time script of a dependency,
// though a tarball's `prepare` never runs). postpack puts the repository's manifest back.
//   node scripts/pack.mjs          prepack: build (skipped when WASMGRAD_PACK_PREBUILT=1), strip
//   node scripts/pack.mjs restore  postpack
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = `${root}package.json`;
const saved = `${root}.package.json.repository`;

if (process.argv[2] === 'restore') {
  if (existsSync(saved)) renameSync(saved, manifest);
  process.exit(0);
}
if (process.env.WASMGRAD_PACK_PREBUILT !== '1') {
  const npm = process.env.npm_execpath;
  const r = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const text = readFileSync(manifest, 'utf8');
const pkg = JSON.parse(text);
delete pkg.scripts.prepare;
writeFileSync(saved, text);
writeFileSync(manifest, `${JSON.stringify(pkg, null, 2)}\n`);
