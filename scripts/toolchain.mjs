// Finds (or, as root, installs) a Rust toolchain that can build wasm32 with simd128.
// Preferred: rustup nightly with rust-src and the wasm32 target. Fallback: Debian's
// rustc-web packages, rebuilding std from source (-Zbuild-std) offline. See README.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const DEBIAN_PACKAGES = ['rustc-web', 'cargo-web', 'rust-web-src', 'rust-web-llvm', 'lld-22'];
const DEBIAN_VENDOR = '/usr/lib/rustlib/src/rust/library/vendor';

function ok(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return r.status === 0 ? r.stdout : null;
}

function rustupNightly() {
  const targets = ok('rustup', ['+nightly', 'target', 'list', '--installed']);
  const components = ok('rustup', ['+nightly', 'component', 'list', '--installed']);
  if (!targets?.includes('wasm32-unknown-unknown') || !components?.includes('rust-src')) return null;
  return { name: 'rustup nightly', cargo: 'cargo', preArgs: ['+nightly'], env: {}, extraArgs: [] };
}

function debian() {
  if (!existsSync('/usr/bin/cargo') || !existsSync(DEBIAN_VENDOR) || !existsSync('/usr/bin/rust-lld')) return null;
  return {
    name: "Debian rustc-web",
    cargo: '/usr/bin/cargo',
    preArgs: [],
    // rustup's shims in ~/.cargo/bin must not shadow Debian's rustc.
    env: { PATH: `/usr/bin:${process.env.PATH}`, RUSTC_BOOTSTRAP: '1', RUSTC: '/usr/bin/rustc' },
    extraArgs: [
      '--config', 'source.crates-io.replace-with="std-vendor"',
      '--config', `source.std-vendor.directory="${DEBIAN_VENDOR}"`,
    ],
  };
}

function installDebian() {
  console.error(`wasmgrad: installing the Rust wasm toolchain (${DEBIAN_PACKAGES.join(' ')}) with apt-get…`);
  execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...DEBIAN_PACKAGES], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** The toolchain to build wasm with, installing Debian's when possible; exits if none. */
export function wasmToolchain() {
  const found = rustupNightly() ?? debian();
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    installDebian();
    const installed = debian();
    if (installed) return installed;
  }
  console.error(`wasmgrad: no Rust toolchain that can build wasm32 was found. Install either
  - rustup: rustup toolchain install nightly --component rust-src --target wasm32-unknown-unknown
  - Debian 12 (as root): apt-get install -y --no-install-recommends ${DEBIAN_PACKAGES.join(' ')}`);
  process.exit(1);
}

/** A cargo for host-side `cargo test` (any toolchain works; Debian's preferred). */
export function hostCargo() {
  if (existsSync('/usr/bin/cargo')) return { cargo: '/usr/bin/cargo', env: { PATH: `/usr/bin:${process.env.PATH}` } };
  if (ok('cargo', ['--version'])) return { cargo: 'cargo', env: {} };
  return wasmToolchain();
}
