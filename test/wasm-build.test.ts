// The shipped wasm binaries: release builds carry no `name` section (function names are
// for `npm run build:wasm -- --names` builds only) and stay under a gzip budget. Sizes are
// deterministic for a given toolchain, so a regression shows here.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { relaxedSimdSupported } from '../ts/load.js';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
/**
 * Each single-threaded .wasm, gzip -9, in bytes: about 250 kB now. Issue #11 asked for
 * 180 kB; every way there that was measured costs speed (CHANGELOG, "Known issues"), and
 * the performance work of #12 chose speed. Messages format numbers with
 * `error::fmt_number`, not `{}` on floats, which keeps core's float printing (~8.5 kB
 * gzipped) out of the binary. This guards against unnoticed growth: raising it is a
 * decision to record in the commit that does it. Raised from 248 000 for the recycling
 * of freed tensor buffers (no zero fill of outputs a kernel overwrites; the MNIST CNN
 * step 4 % faster) and the row-run max-pool backward, about 2 kB together; then from
 * 250 000 for max pooling's NaN-free `pmax` fold (2×2 windows 2 apart, with and without
 * argmaxes: the forward 0.30 → 0.175 ms on [64,16,28,28]), its backward by row pairs of
 * stacked planes, and the parked idle workers, about 1.6 kB; then from 251 000 for `pow`
 * without libm (`kernels/pow.rs`: `x.pow(1.7)` of 1M 52 → 7.9 ms) and the register fold of
 * `prod`/`any`/`all` over rows (3.4 → 0.85 ms, 2.4 → 0.2 ms), about 0.4 kB; then from
 * 251 500 for a vectorised `log1p` (10.7 → 2.8 ms on 1M), about 0.3 kB; then from 251 800
 * for vectorised `sin`/`cos` (11.2 → 1.5 ms), about 0.9 kB, of which `randn` on those
 * kernels (libm's f64 `log` and `cos` gone) gave back 0.7 kB; then from 252 000 for
 * unit-stride rows of strided copies as one copy each (`cat` along dim 1 1.9 → 1.2 ms,
 * a narrowed copy 0.7 → 0.3 ms), about 0.9 kB.
 */
const GZIP_BUDGET = 253_000;
/**
 * The threads builds (simd128 or relaxed-simd) carry the pool, std's atomic paths and the
 * split kernels (conv, pooling, elementwise, reductions): about 17 kB more.
 */
const GZIP_BUDGET_THREADS = 271_200;
const THREADS_BUILDS = ['wasmgrad-threads-relaxed.wasm', 'wasmgrad-threads.wasm'];
const EXPECTED = ['wasmgrad-relaxed.wasm', ...THREADS_BUILDS, 'wasmgrad.wasm'];

/** An unsigned LEB128 at `at`: its value and the offset after it. */
function leb128(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new Error(`bad LEB128 at byte ${at}`);
}

interface Section {
  id: number;
  /** The custom section's name; '' for the standard sections. */
  name: string;
  size: number;
}

/** The section headers of a wasm module, checking that they tile the file exactly. */
function sections(bytes: Uint8Array): Section[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (!magic.every((b, i) => bytes[i] === b)) throw new Error('not a wasm v1 module');
  const out: Section[] = [];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, body] = leb128(bytes, at + 1);
    if (body + size > bytes.length) throw new Error(`section ${id} at byte ${at} runs past the end`);
    let name = '';
    if (id === 0) {
      const [len, start] = leb128(bytes, body);
      name = new TextDecoder().decode(bytes.subarray(start, start + len));
    }
    out.push({ id, name, size });
    at = body + size;
  }
  return out;
}

describe('the shipped wasm binaries', () => {
  const files = readdirSync(DIST).filter((f) => f.endsWith('.wasm')).sort();

  it('are all built', () => {
    expect(files).toEqual(EXPECTED);
  });

  for (const file of EXPECTED) {
    describe(file, () => {
      const bytes = () => new Uint8Array(readFileSync(`${DIST}${file}`));

      it('parses, with a code section and no name section', () => {
        const found = sections(bytes());
        expect(found.some((s) => s.id === 10)).toBe(true);
        // A build with names (`npm run build:wasm -- --names`) must not be shipped.
        expect(found.filter((s) => s.id === 0).map((s) => s.name)).not.toContain('name');
      });

      const budget = THREADS_BUILDS.includes(file) ? GZIP_BUDGET_THREADS : GZIP_BUDGET;
      it(`is at most ${budget / 1000} kB gzipped (-9)`, () => {
        const gz = gzipSync(bytes(), { level: 9 }).length;
        expect(gz).toBeLessThanOrEqual(budget);
      });
    });
  }

  // The relaxed-simd one compiles only where relaxed-simd runs (project relaxed-simd).
  it.each(THREADS_BUILDS.filter((f) => relaxedSimdSupported() || !f.includes('relaxed')))('%s imports a shared memory of THREADS_INITIAL_PAGES and exports the thread plumbing', async (file) => {
    const { THREADS_INITIAL_PAGES } = await import('../ts/threads.js');
    const module = new WebAssembly.Module(readFileSync(`${DIST}${file}`));
    expect(WebAssembly.Module.imports(module).filter((i) => i.kind === 'memory')).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
    for (const name of ['__stack_pointer', '__wasm_init_tls', '__tls_size', '__tls_align', 'wt_worker_loop', 'wt_shared', 'wt_set_threads']) {
      expect(exported.has(name), name).toBe(true);
    }
    // The linker's minimum (--initial-memory in scripts/build-wasm.mjs) is what JS creates.
    const imports = (pages: number) => ({
      env: { memory: new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true }) },
      wasmgrad: { wg_host_call: () => 0, wg_host_release: () => {} },
    });
    expect(() => new WebAssembly.Instance(module, imports(THREADS_INITIAL_PAGES - 1))).toThrow(WebAssembly.LinkError);
    expect(new WebAssembly.Instance(module, imports(THREADS_INITIAL_PAGES))).toBeInstanceOf(WebAssembly.Instance);
  });

  it('the section reader finds a name section where there is one', () => {
    // A module with one custom section called "name" (empty payload): what the check
    // above looks for, so it cannot pass by never finding anything.
    const module = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 5, 4, 0x6e, 0x61, 0x6d, 0x65]);
    expect(sections(module)).toEqual([{ id: 0, name: 'name', size: 5 }]);
    expect(() => sections(module.subarray(0, 12))).toThrow(/past the end/);
  });
});
