// Builds crates/wasm for wasm32 into dist/: wasmgrad.wasm (simd128),
// wasmgrad-relaxed.wasm (simd128 + relaxed-simd, for FMA), wasmgrad-threads.wasm
// (simd128 + atomics: a shared, imported memory that Web Workers / worker_threads run the
// same module on; see crates/wasm/src/threads.rs and ts/threads.ts) and
// wasmgrad-threads-relaxed.wasm (the threads build with relaxed-simd's FMA). The loader
// picks one at run time by feature detection (ts/load.ts). Each variant has its own cargo target dir, so cargo's
// incremental build makes a run with unchanged sources take about a second.
//
// Release builds are stripped (Cargo.toml: `strip = true`, wasm-ld --strip-all): no `name`
// section, so the binaries stay small. `node scripts/build-wasm.mjs --names` (or
// `npm run build:wasm -- --names`, or WASMGRAD_WASM_NAMES=1) writes the same files with
// the function names kept, so a trap's stack trace reads `wasmgrad_core::…` instead of
// `wasm-function[412]`. Those builds use their own target dirs, so switching back and forth
// does not rebuild everything (std included) each time.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { wasmToolchain } from './toolchain.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// rustc (since rust-lang/rust#147225) no longer adds the shared-memory link args for
// +atomics: without them the module gets an unshared exported memory and no TLS exports
// (/work/shared/threads.md). The memory is imported and shared; JS creates it with
// THREADS_INITIAL_PAGES (ts/threads.ts; pinned here so JS knows the minimum) and up to
// 4 GiB. Each worker gets its own stack (__stack_pointer) and TLS block.
const THREADS_LINK_ARGS = [
  '--shared-memory', '--import-memory', '--max-memory=4294967296', '--initial-memory=2097152',
  '--export=__stack_pointer', '--export=__wasm_init_tls', '--export=__tls_size', '--export=__tls_align',
  '--export=__tls_base',
];
const VARIANTS = [
  { file: 'wasmgrad.wasm', features: '+simd128', targetDir: 'target' },
  { file: 'wasmgrad-relaxed.wasm', features: '+simd128,+relaxed-simd', targetDir: 'target/relaxed' },
  { file: 'wasmgrad-threads.wasm', features: '+atomics,+bulk-memory,+simd128', targetDir: 'target/threads', linkArgs: THREADS_LINK_ARGS },
  {
    file: 'wasmgrad-threads-relaxed.wasm',
    features: '+atomics,+bulk-memory,+simd128,+relaxed-simd',
    targetDir: 'target/threads-relaxed',
    linkArgs: THREADS_LINK_ARGS,
  },
];

const names = process.argv.includes('--names') || /^(1|true|yes)$/i.test(process.env.WASMGRAD_WASM_NAMES ?? '');
const unknown = process.argv.slice(2).filter((a) => a !== '--names');
if (unknown.length > 0) {
  console.error(`build-wasm: unknown arguments ${unknown.join(' ')} (usage: node scripts/build-wasm.mjs [--names])`);
  process.exit(2);
}

const tc = wasmToolchain();
mkdirSync(`${root}dist`, { recursive: true });
for (const variant of VARIANTS) {
  const args = [
    ...tc.preArgs, 'build', '--release', '-p', 'wasmgrad-wasm',
    '--target', 'wasm32-unknown-unknown', '-Zbuild-std=std,panic_abort', ...tc.extraArgs,
  ];
  const r = spawnSync(tc.cargo, args, {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...tc.env,
      CARGO_TARGET_DIR: `${root}${variant.targetDir}${names ? '/names' : ''}`,
      // The profile's `strip = true` drops the name section; "debuginfo" keeps it.
      ...(names ? { CARGO_PROFILE_RELEASE_STRIP: 'debuginfo' } : {}),
      RUSTFLAGS: [`-C target-feature=${variant.features}`, ...(variant.linkArgs ?? []).map((a) => `-C link-arg=${a}`)].join(' '),
    },
  });
  if (r.status !== 0) {
    console.error(`wasmgrad: the wasm build failed (${tc.name}, ${variant.features}: ${tc.cargo} ${args.join(' ')})`);
    process.exit(r.status ?? 1);
  }
  const built = `${root}${variant.targetDir}${names ? '/names' : ''}/wasm32-unknown-unknown/release/wasmgrad_wasm.wasm`;
  copyFileSync(built, `${root}dist/${variant.file}`);
  console.error(`wasmgrad: built dist/${variant.file} (${(statSync(built).size / 1024).toFixed(0)} KiB, ${variant.features}${names ? ', with names' : ''}, ${tc.name})`);
}
