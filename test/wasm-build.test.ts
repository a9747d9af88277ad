// The shipped wasm binaries: release builds carry no `name` section (function names are
// for `npm run build:wasm -- --names` builds only) and stay under a gzip budget. Sizes are
// deterministic for a given toolchain, so a regression shows here.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
/**
 * Each core .wasm, gzip -9, in bytes. Issue #11 asks for 180 kB; the binaries are about
 * 235 kB now (from 309 kB), so this guards what was reached against regressions until
 * the rest of the reduction lands, and is to be lowered to 180_000 then.
 */
const GZIP_BUDGET = 240_000;
const EXPECTED = ['wasmgrad-relaxed.wasm', 'wasmgrad.wasm'];

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

  it('are both built', () => {
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

      it(`is at most ${GZIP_BUDGET / 1000} kB gzipped (-9)`, () => {
        const gz = gzipSync(bytes(), { level: 9 }).length;
        expect(gz).toBeLessThanOrEqual(GZIP_BUDGET);
      });
    });
  }

  it('the section reader finds a name section where there is one', () => {
    // A module with one custom section called "name" (empty payload): what the check
    // above looks for, so it cannot pass by never finding anything.
    const module = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0, 5, 4, 0x6e, 0x61, 0x6d, 0x65]);
    expect(sections(module)).toEqual([{ id: 0, name: 'name', size: 5 }]);
    expect(() => sections(module.subarray(0, 12))).toThrow(/past the end/);
  });
});
