// safetensors: round trips of every dtype, the reference implementation's exact bytes,
// every kind of malformed file (refused whole, nothing left allocated), and interop with
// PyTorch through the fixtures of scripts/safetensors_fixture.py.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, arange, conv2d, DisposedError, dispose, FormatError, linear, load, loadFile, maxPool2d, memory,
  OutOfMemoryError, randn, readHeader, readHeaderFile, save, saveFile, setMemoryLimit, tensor, tidy, wasmMemory,
  type Tensor,
} from '../ts/node.js';
import { f32ToBF16, f32ToF16 } from '../ts/io/safetensors.js';
import { SAMPLE_METADATA, sampleTensors } from './fixtures/safetensors-sample.mjs';
import { thrown } from './helpers/snapshot.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** A file from a header (JSON text or a value to stringify) and data, with the true or a given header length. */
function file(header: string | object, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Loads, reads every tensor back as plain values, frees them. */
function roundTrip(bytes: Uint8Array | ArrayBuffer): Record<string, { shape: number[]; dtype: string; data: number[] }> {
  return tidy(() =>
    Object.fromEntries(Object.entries(load(bytes)).map(([k, t]) => [k, { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data()) }])),
  );
}

/** The error a load of `bytes` throws, checking that no tensor was left behind. */
function refused(bytes: Uint8Array): Error {
  const before = memory().numTensors;
  let error: Error | null = null;
  try {
    load(bytes);
  } catch (err) {
    error = err as Error;
  }
  expect(memory().numTensors).toBe(before);
  if (error === null) throw new Error('expected load() to throw');
  return error;
}

const f32 = (values: number[]) => bytesOf(new Float32Array(values));
const entry = (dtype: string, shape: number[], offsets: [number, number]) => ({ dtype, shape, data_offsets: offsets });

describe('save and load', () => {
  it('round-trips float32 exactly, int32 and bool, in the reference layout', () => {
    const values = [0, -0, 1.5, -3.25e-38, 1e-45, 3.4028234663852886e38, Infinity, -Infinity, NaN, Math.PI];
    const got = tidy(() => {
      const bytes = save({ f: tensor(values), i: tensor([[-2147483648, 2147483647], [0, -7]], { dtype: 'int32' }), b: tensor([true, false, true]) });
      return { header: readHeader(bytes), back: roundTrip(bytes) };
    });
    expect(got.header.tensors.map((t) => [t.name, t.dtype, t.shape, t.dataOffsets])).toEqual([
      ['f', 'F32', [10], [0, 40]],
      ['i', 'I32', [2, 2], [40, 56]],
      ['b', 'BOOL', [3], [56, 59]],
    ]);
    expect(got.header.dataStart % 8).toBe(0);
    expect(got.header.metadata).toBeNull();
    expect(got.back.f!.dtype).toBe('float32');
    got.back.f!.data.forEach((v, i) => expect(Object.is(v, Math.fround(values[i]!))).toBe(true));
    expect(got.back.i).toEqual({ shape: [2, 2], dtype: 'int32', data: [-2147483648, 2147483647, 0, -7] });
    expect(got.back.b).toEqual({ shape: [3], dtype: 'bool', data: [1, 0, 1] });
  });

  it('writes the bytes the reference implementation writes', () => {
    // safetensors' own serialization tests (tensor.rs): one F32 tensor, an empty file, metadata only.
    const one = tidy(() => save({ 'attn.0': arange(6).reshape(1, 2, 3) }));
    expect(Array.from(one.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(one.subarray(8, 72))).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(Array.from(one.subarray(72))).toEqual(Array.from(f32([0, 1, 2, 3, 4, 5])));
    const padded = tidy(() => save({ attn0: arange(6).reshape(1, 1, 2, 3) }));
    expect(padded[0]).toBe(72);
    expect(new TextDecoder().decode(padded.subarray(8, 80))).toBe(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${' '.repeat(7)}`);
    expect(Array.from(save({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(Array.from(save(new Map(), { metadata: { framework: 'pt' } }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('{"__metadata__":{"framework":"pt"}}     '),
    ]);
  });

  it('orders tensors by descending dtype alignment, then by code point, as the reference does', () => {
    const header = tidy(() => {
      const t = {
        z: tensor([1]), mask: tensor([true]), B: tensor([1], { dtype: 'int32' }), '\u{1F600}': tensor([2]),
        '\uFFFF': tensor([3]), a: tensor([4]), A: tensor([true]),
      };
      return [readHeader(save(t)), readHeader(save(t, { dtype: 'F16' }))];
    });
    expect(header[0]!.tensors.map((t) => t.name)).toEqual(['a', 'z', '\uFFFF', '\u{1F600}', 'B', 'A', 'mask']);
    expect(header[1]!.tensors.map((t) => `${t.name}:${t.dtype}`)).toEqual(['B:I32', 'a:F16', 'z:F16', '\uFFFF:F16', '\u{1F600}:F16', 'A:BOOL', 'mask:BOOL']);
  });

  it('rounds to F16 and BF16 to nearest even, as PyTorch', () => {
    const values = [
      0, -0, 1, -2.5, 65504, 65519, 65520, 1e-5, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -25 + 2 ** -40, 1e-40, 3.4e38,
      Infinity, -Infinity, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20,
    ];
    // torch.tensor(values, dtype=torch.float32).half() / .bfloat16(), viewed as int16 (PyTorch 1.13).
    const half = [0x0, 0x8000, 0x3c00, 0xc100, 0x7bff, 0x7bff, 0x7c00, 0xa8, 0x1, 0x0, 0x1, 0x1, 0x0, 0x7c00, 0x7c00, 0xfc00, 0x3c04, 0x3c0c, 0x3c00, 0x3c02, 0x3c01];
    const bf16 = [0x0, 0x8000, 0x3f80, 0xc020, 0x4780, 0x4780, 0x4780, 0x3728, 0x3380, 0x3300, 0x3340, 0x3300, 0x1, 0x7f80, 0x7f80, 0xff80, 0x3f80, 0x3f82, 0x3f80, 0x3f80, 0x3f80];
    const bits = new Uint32Array(new Float32Array(values).buffer);
    expect(Array.from(bits, f32ToF16)).toEqual(half);
    expect(Array.from(bits, f32ToBF16)).toEqual(bf16);
    expect(f32ToF16(0x7fc00000)).toBe(0x7e00);
    expect(f32ToF16(0xffc00001)).toBe(0xfe00);
    expect(f32ToBF16(0x7f800001)).toBe(0x7fc0);
    // Through save(): the file holds those bits.
    const files = tidy(() => {
      const t = tensor(values);
      return [save({ t }, { dtype: 'F16' }), save({ t }, { dtype: 'BF16' })];
    });
    for (const [bytes, want] of [[files[0]!, half], [files[1]!, bf16]] as const) {
      const { dataStart } = readHeader(bytes);
      expect(Array.from(new Uint16Array(bytes.slice(dataStart).buffer))).toEqual(want);
    }
  });

  it('reads every F16 and BF16 bit pattern and writes it back unchanged (NaN stays NaN)', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const patterns = new Uint16Array(65536).map((_, i) => i);
      const bytes = file({ all: entry(dtype, [256, 256], [0, 131072]) }, bytesOf(patterns));
      const back = tidy(() => {
        const { all } = load(bytes);
        const values = all!.data() as Float32Array;
        const again = save({ all: all! }, { dtype });
        return { values, again: new Uint16Array(again.slice(readHeader(again).dataStart).buffer) };
      });
      for (let h = 0; h < 65536; h++) {
        const v = back.values[h]!;
        if (Number.isNaN(v)) {
          expect(dtype === 'F16' ? (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 : (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0).toBe(true);
          continue;
        }
        if (back.again[h] !== h) throw new Error(`${dtype} ${h.toString(16)} → ${v} → ${back.again[h]!.toString(16)}`);
      }
      // Spot values.
      const at = (h: number) => back.values[h]!;
      if (dtype === 'F16') {
        expect([at(0x3c00), at(0x7bff), at(0x0001), at(0x8000), at(0x7c00), at(0xfc00)]).toEqual([1, 65504, 2 ** -24, -0, Infinity, -Infinity]);
      } else {
        expect([at(0x3f80), at(0x0001), at(0x7f80), at(0xc020)]).toEqual([1, 2 ** -133, Infinity, -2.5]);
      }
    }
  });

  it('keeps metadata, empty and 0-d tensors, Maps, non-contiguous views', () => {
    const got = tidy(() => {
      const base = arange(6).reshape(2, 3);
      const bytes = save(
        new Map<string, Tensor>([['t', base.t()], ['empty', tensor(new Float32Array(0), { shape: [3, 0, 2] })], ['zero-d', tensor(7)], ['noBool', tensor(new Uint8Array(0), { dtype: 'bool' })]]),
        { metadata: { format: 'pt', 'ü': '✓ "quoted"\n' } },
      );
      return { header: readHeader(bytes), back: roundTrip(bytes.buffer as ArrayBuffer) };
    });
    expect(got.header.metadata).toEqual({ format: 'pt', 'ü': '✓ "quoted"\n' });
    expect(got.back).toEqual({
      empty: { shape: [3, 0, 2], dtype: 'float32', data: [] },
      t: { shape: [3, 2], dtype: 'float32', data: [0, 3, 1, 4, 2, 5] },
      'zero-d': { shape: [], dtype: 'float32', data: [7] },
      noBool: { shape: [0], dtype: 'bool', data: [] },
    });
    expect(tidy(() => readHeader(save({ a: tensor([1]) }, { metadata: {} })).metadata)).toEqual({});
  });

  it('round-trips large tensors in every float dtype', () => {
    const n = 1 << 20;
    const results = tidy(() => {
      const x = randn([1024, 1024]).mul(100);
      const src = x.data() as Float32Array;
      return (['F32', 'F16', 'BF16'] as const).map((dtype) => {
        const bytes = save({ x }, { dtype });
        expect(bytes.length).toBe(readHeader(bytes).dataStart + n * (dtype === 'F32' ? 4 : 2));
        const back = load(bytes).x!.data() as Float32Array;
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(back[i]! - src[i]!) / Math.max(Math.abs(src[i]!), 1e-3));
        return worst;
      });
    });
    expect(results[0]).toBe(0);
    expect(results[1]).toBeLessThan(2 ** -11 + 1e-7); // F16: half an ulp of an 11-bit significand (normal range)
    expect(results[2]).toBeLessThan(2 ** -8 + 1e-7); // BF16: 8-bit significand
  });

  it('reads unaligned data and every loadable dtype from crafted bytes', () => {
    const i64 = new BigInt64Array([0n, -1n, 2147483647n, -2147483648n]);
    const data = new Uint8Array([
      ...bytesOf(new Float64Array([0.1, -1e300, 2 ** -150])),
      ...bytesOf(i64), ...bytesOf(new Int16Array([-32768, 32767])), 0x80, 0x7f, 0xff, 0, 2, 1,
    ]);
    const header = {
      d: entry('F64', [3], [0, 24]), l: entry('I64', [2, 2], [24, 56]), s: entry('I16', [2], [56, 60]),
      c: entry('I8', [2], [60, 62]), u: entry('U8', [1], [62, 63]), b: entry('BOOL', [3], [63, 66]),
    };
    const bytes = file(header, data);
    // At an odd offset in a bigger buffer, so no view of the data is aligned.
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    for (const b of [bytes, shifted]) {
      expect(roundTrip(b)).toEqual({
        d: { shape: [3], dtype: 'float32', data: [Math.fround(0.1), -Infinity, 0] },
        l: { shape: [2, 2], dtype: 'int32', data: [0, -1, 2147483647, -2147483648] },
        s: { shape: [2], dtype: 'int32', data: [-32768, 32767] },
        c: { shape: [2], dtype: 'int32', data: [-128, 127] },
        u: { shape: [1], dtype: 'int32', data: [255] },
        b: { shape: [3], dtype: 'bool', data: [0, 1, 1] }, // any non-zero byte is true
      });
    }
  });

  it('returns tensors that belong to the enclosing tidy, in data order', () => {
    const bytes = file({ second: entry('F32', [1], [4, 8]), first: entry('F32', [1], [0, 4]) }, f32([1, 2]));
    expect(readHeader(bytes).tensors.map((t) => t.name)).toEqual(['first', 'second']);
    const kept = tidy(() => {
      const all = load(bytes);
      expect(Object.keys(all)).toEqual(['first', 'second']);
      return all.second!;
    });
    expect(kept.item()).toBe(2);
    kept.dispose();
    const proto = tidy(() => {
      const all = load(file('{"__proto__":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'));
      return [Object.keys(all), Object.getPrototypeOf(all) === Object.prototype];
    });
    expect(proto).toEqual([['__proto__'], true]);
  });
});

describe('malformed files are refused whole', () => {
  const ok = { a: entry('F32', [2], [0, 8]), b: entry('F32', [1], [8, 12]) };
  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than 8 bytes', new Uint8Array(5), /5 bytes is too short to hold the 8-byte header length/],
    ['a header length beyond the file', file(ok, 12, 1000n), /header length \(1000 bytes\) reaches beyond the end of the file \(128 bytes\)/],
    ['an absurd header length', file(ok, 12, 1n << 40n), /header length \(1099511627776 bytes\) is absurdly large/],
    ['the largest u64 header length', file(ok, 12, (1n << 64n) - 1n), /absurdly large/],
    ['truncated data', file(ok, 11), /tensor "b" has data_offsets \[8, 12\] beyond the end of the data \(11 bytes\): the file is truncated/],
    ['a header that is not JSON', file('{"a": {"dtype": "F32",}}', 0), /not valid JSON: expected a string key at character 22/],
    ['invalid UTF-8', file('{"ab":{}}').map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/],
    ['a JSON array', file('[]'), /the header must begin with '\{', got "\[\]"/],
    ['leading whitespace', file(' {}'), /the header must begin with '\{'/],
    ['an empty header', file(''), /the header must begin with '\{', got ""/],
    ['text after the object', file('{} x'), /unexpected text after the top-level value/],
    ['a duplicate name', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate key "a"/],
    ['a duplicate field', file('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate key "dtype"/],
    ['overlapping offsets', file({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, 12), /tensors "a" and "b" overlap \(bytes 4–8\)/],
    ['a gap', file({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, 12), /4 bytes before tensor "b" \(from 4\) belong to no tensor/],
    ['a gap at the start', file({ b: entry('F32', [1], [4, 8]) }, 8), /4 bytes before tensor "b" \(from 0\)/],
    ['trailing bytes', file(ok, 13), /the data is 13 bytes but the tensors cover 12: 1 bytes at the end belong to no tensor/],
    ['data and no tensors', file({}, 4), /the data is 4 bytes but the tensors cover 0/],
    ['offsets that disagree with the shape', file({ a: entry('F32', [3], [0, 8]) }, 8), /tensor "a" has data_offsets \[0, 8\] \(8 bytes\), but shape \[3\] of F32 needs 12 bytes/],
    ['offsets that end before they begin', file({ a: entry('F32', [0], [8, 4]) }, 8), /end before they begin/],
    ['out-of-range offsets', file({ a: entry('F32', [1], [100, 104]) }, 4), /tensor "a" has data_offsets \[100, 104\] beyond the end of the data \(4 bytes\)/],
    ['offsets beyond 2⁵³', file({ a: entry('F32', [1], [2 ** 53, 2 ** 53 + 4]) }, 4), /two non-negative integers, got \[9007199254740992,9007199254740996\]/],
    ['negative offsets', file({ a: entry('F32', [1], [-4, 0]) }, 4), /needs data_offsets \[begin, end\] of two non-negative integers, got \[-4,0\]/],
    ['three offsets', file({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 4), /two non-negative integers/],
    ['an unknown dtype', file({ a: entry('F17', [1], [0, 4]) }, 4), /tensor "a" has an unknown dtype "F17"/],
    ['no dtype', file({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a" has no dtype string/],
    ['a negative shape entry', file({ a: entry('F32', [-1], [0, 0]) }), /shape entry -1: sizes must be non-negative integers/],
    ['a fractional shape entry', file({ a: entry('F32', [1.5], [0, 6]) }, 6), /shape entry 1.5/],
    ['a string shape entry', file({ a: entry('F32', ['2' as unknown as number], [0, 8]) }, 8), /shape entry "2"/],
    ['a shape whose size overflows', file({ a: entry('U8', [2 ** 30, 2 ** 30, 2 ** 30], [0, 4]) }, 4), /shape \[1073741824, 1073741824, 1073741824\], too large to address/],
    ['an entry that is not an object', file({ a: [1] }), /tensor "a" must be an object/],
    ['metadata that is not strings', file({ __metadata__: { epoch: 3 } }), /__metadata__ values must be strings, got number for "epoch"/],
    ['metadata that is not an object', file({ __metadata__: 'x' }), /__metadata__ must be an object of strings/],
    ['deep nesting', file(`{"a":${'['.repeat(100000)}`), /nesting deeper than 64 levels/],
    ['a lone surrogate', file('{"\\ud800":{}}'), /lone surrogate/],
    ['a raw control character', file('{"a\tb":{}}'), /control character/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what}`, () => {
      const err = refused(bytes);
      expect(err).toBeInstanceOf(FormatError);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err.message).toMatch(/^load: not a valid safetensors file: /);
      expect(err.message).toMatch(message);
      expect(thrown(() => readHeader(bytes)).message).toMatch(message);
    });
  }

  it('refuses dtypes wasmgrad cannot hold, which readHeader still lists', () => {
    const bytes = file({ a: entry('F32', [1], [0, 4]), u: entry('U16', [2], [4, 8]) }, 8);
    expect(readHeader(bytes).tensors.map((t) => t.dtype)).toEqual(['F32', 'U16']);
    const err = refused(bytes);
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toBe('load: tensor "u" has dtype U16, which wasmgrad cannot load (it loads F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)');
    expect(refused(file({ a: entry('F32', Array(17).fill(1), [0, 4]) }, 4)).message).toMatch(/has 17 dimensions; wasmgrad supports at most 16/);
  });

  it('refuses I64 values outside int32 before creating any tensor', () => {
    for (const [v, shown] of [[2n ** 31n, '2147483648'], [-(2n ** 31n) - 1n, '-2147483649'], [2n ** 63n - 1n, '9223372036854775807']] as const) {
      const bytes = file({ ok: entry('F32', [1], [0, 4]), big: entry('I64', [2], [4, 20]) }, new Uint8Array([...f32([1]), ...bytesOf(new BigInt64Array([5n, v]))]));
      const err = refused(bytes);
      expect(err).toBeInstanceOf(ArgumentError);
      expect(err).not.toBeInstanceOf(FormatError);
      expect(err.message).toBe(`load: tensor "big" (I64) holds ${shown} at index 1, outside the int32 range wasmgrad stores it in`);
    }
  });

  it('frees what it created when an allocation fails midway', () => {
    const big = 1 << 22;
    const bytes = file({ small: entry('F32', [16], [0, 64]), large: entry('F32', [big], [64, 64 + 4 * big]) }, 64 + 4 * big);
    setMemoryLimit(wasmMemory().heapBytes + (1 << 20));
    try {
      expect(refused(bytes)).toBeInstanceOf(OutOfMemoryError);
    } finally {
      setMemoryLimit(null);
    }
    expect(roundTrip(file({ small: entry('F32', [1], [0, 4]) }, f32([3])))).toEqual({ small: { shape: [1], dtype: 'float32', data: [3] } });
  });

  it('rejects bad arguments to save and load', () => {
    const t = tensor([1]);
    try {
      expect(thrown(() => save({ t }, { dtype: 'F64' as 'F32' })).message).toBe(`save: dtype must be 'F32', 'F16' or 'BF16', got "F64"`);
      expect(thrown(() => save({ t }, { metadata: { n: 1 as unknown as string } })).message).toBe('save: metadata values must be strings, got number for "n"');
      expect(thrown(() => save({ __metadata__: t })).message).toMatch(/reserved/);
      expect(thrown(() => save({ 'a\ud800': t })).message).toBe('save: the name "a\\ud800" has a lone surrogate, which UTF-8 cannot encode');
      expect(thrown(() => save({ t }, { metadata: { k: '\udc00' } }))).toBeInstanceOf(ArgumentError);
      expect(thrown(() => save({ x: [1] as unknown as Tensor })).message).toBe('save: "x" is not a Tensor');
      expect(thrown(() => save([t] as unknown as Record<string, Tensor>))).toBeInstanceOf(ArgumentError);
      expect(thrown(() => save(t as unknown as Record<string, Tensor>))).toBeInstanceOf(ArgumentError);
      expect(thrown(() => load('abc' as unknown as Uint8Array)).message).toBe('load: expected the file\'s bytes (a Uint8Array or ArrayBuffer), got string');
    } finally {
      t.dispose();
    }
    expect(thrown(() => save({ t }))).toBeInstanceOf(DisposedError);
  });
});

describe('files and PyTorch interop', () => {
  it('saveFile, loadFile and readHeaderFile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmgrad-st-'));
    try {
      const path = join(dir, 'm.safetensors');
      tidy(() => saveFile(path, { w: arange(4).reshape(2, 2) }, { metadata: { k: 'v' }, dtype: 'BF16' }));
      expect(readHeaderFile(path)).toEqual({ metadata: { k: 'v' }, tensors: [{ name: 'w', dtype: 'BF16', shape: [2, 2], dataOffsets: [0, 8] }], dataStart: 96 });
      expect(tidy(() => loadFile(path).w!.toArray())).toEqual([[0, 1], [2, 3]]);
      expect(thrown(() => readHeaderFile(join(dir, 'missing.safetensors'))).message).toMatch(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true });
    }
    expect(thrown(() => readHeaderFile(fixture('../safetensors.test.ts'))).message).toMatch(/absurdly large|beyond the end/);
  });

  it('reads every dtype as PyTorch converts it (dtypes.safetensors)', () => {
    const header = readHeaderFile(fixture('dtypes.safetensors'));
    expect(header.metadata).toEqual({ source: 'pytorch 1.13.0a0' });
    const all = tidy(() => Object.fromEntries(Object.entries(loadFile(fixture('dtypes.safetensors'))).map(([k, t]) => [k, { shape: [...t.shape], dtype: t.dtype, data: Array.from(t.data()) }])));
    const names = Object.keys(all).filter((k) => !k.endsWith('.expected'));
    expect(names.sort()).toEqual(['bf16', 'bool', 'empty', 'f16', 'f32', 'f64', 'i16', 'i32', 'i64', 'i8', 'scalar', 'u8']);
    for (const name of names) {
      const got = all[name]!;
      const want = all[`${name}.expected`]!;
      expect(got.shape, name).toEqual(want.shape);
      expect(got.dtype, name).toEqual(want.dtype);
      got.data.forEach((v, i) => expect(Object.is(v, want.data[i]), `${name}[${i}]: ${v} vs ${want.data[i]}`).toBe(true));
    }
  });

  it('runs a PyTorch CNN from its F32 and BF16 state dicts and matches its outputs', () => {
    for (const [weights, output] of [['cnn-f32.safetensors', 'y_f32'], ['cnn-bf16.safetensors', 'y_bf16']] as const) {
      const worst = tidy(() => {
        const io = loadFile(fixture('cnn-io.safetensors'));
        const p = loadFile(fixture(weights));
        expect(Object.keys(p)).toEqual(['0.bias', '0.weight', '4.bias', '4.weight']);
        const h = maxPool2d(conv2d(io.x!, p['0.weight']!, p['0.bias']!).relu(), 2);
        const y = linear(h.reshape(h.shape[0]!, -1), p['4.weight']!, p['4.bias']!);
        expect(y.shape).toEqual([5, 10]);
        return y.sub(io[output]!).abs().amax().item() as number;
      });
      expect(worst, weights).toBeLessThan(1e-5);
    }
    expect(readHeaderFile(fixture('cnn-bf16.safetensors')).tensors.every((t) => t.dtype === 'BF16')).toBe(true);
  });

  it('save() reproduces the files PyTorch checked (scripts/write-safetensors-sample.mjs)', () => {
    const files = tidy(() => {
      const tensors = sampleTensors({ arange, tensor });
      return (['F32', 'F16', 'BF16'] as const).map((dtype) => save(tensors, { metadata: SAMPLE_METADATA, dtype }));
    });
    for (const [i, name] of ['f32', 'f16', 'bf16'].entries()) {
      expect(Buffer.from(files[i]!).equals(readFileSync(fixture(`wasmgrad-${name}.safetensors`))), name).toBe(true);
    }
  });
});

describe('entry points', () => {
  /** The ts/ modules `entry` imports, transitively, and the bare specifiers they import. */
  function graph(entry: string): { modules: Set<string>; external: Set<string> } {
    const modules = new Set<string>();
    const external = new Set<string>();
    const todo = [new URL(`../ts/${entry}`, import.meta.url)];
    while (todo.length > 0) {
      const url = todo.pop()!;
      if (modules.has(url.pathname)) continue;
      modules.add(url.pathname);
      for (const m of readFileSync(url, 'utf8').matchAll(/^(?:(?:import|export)\b[^;]*?\bfrom\s*|import\s*)['"]([^'"]+)['"];/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) todo.push(new URL(spec.replace(/\.js$/, '.ts'), url));
        else external.add(spec);
      }
    }
    return { modules, external };
  }

  it('the browser entry reaches safetensors, data and progress but nothing from Node', () => {
    const browser = graph('browser.ts');
    const names = [...browser.modules].map((p) => p.replace(/.*\/ts\//, ''));
    expect(names).toEqual(expect.arrayContaining(['io/safetensors.ts', 'io/progress.ts', 'data.ts']));
    expect(names.length).toBeGreaterThan(15);
    expect(names).not.toContain('io/node.ts');
    expect([...browser.external]).toEqual([]);
    const node = graph('node.ts');
    expect([...node.modules].some((p) => p.endsWith('/ts/io/node.ts'))).toBe(true);
    expect([...node.external].sort()).toEqual(['node:fs', 'node:fs/promises', 'node:module', 'node:os', 'node:worker_threads']);
  });
});

describe('leaks', () => {
  it('load and save leave nothing behind, even when loading fails', () => {
    const before = memory();
    const bytes = tidy(() => save({ a: randn([10, 10]), b: tensor([1, 2], { dtype: 'int32' }) }, { dtype: 'F16' }));
    dispose(Object.values(load(bytes)));
    refused(bytes.subarray(0, bytes.length - 1));
    expect(memory()).toEqual(before);
  });
});
