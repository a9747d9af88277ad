// Writes test/fixtures/wasmgrad-{f32,f16,bf16}.safetensors with wasmgrad's `saveFile`, for
// PyTorch to read back (run by hand after `npx tsc -p tsconfig.build.json`):
//
//   node scripts/write-safetensors-sample.mjs
//   /usr/bin/python3 scripts/safetensors_fixture.py check
//
// test/safetensors.test.ts checks that save() still produces these exact bytes.
import { arange, dispose, saveFile, tensor } from '../dist/node.js';

export const SAMPLE_METADATA = { 'written by': 'wasmgrad', note: 'ünïcode ✓' };

/** The sample tensors (the test builds the same ones). */
export function sampleTensors() {
  const specials = [
    0, -0, 1, -2.5, 1 / 3, 65504, 65519, 65520, 1e-5, 6e-8, 2 ** -25, 3 * 2 ** -26, 1e-40, 3.4e38,
    Infinity, -Infinity, NaN,
    1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, // bfloat16 and float16 ties
  ];
  return {
    grid: arange(24).reshape(2, 3, 4).div(8).sub(1),
    labels: tensor([3, -1, 2147483647, -2147483648], { dtype: 'int32' }),
    mask: tensor([[true, false, true]]),
    scalar: tensor(-1.25),
    empty: tensor(new Float32Array(0), { shape: [0, 2] }),
    specials: tensor(specials),
    'ü.weight': tensor(Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 10 ** (i % 5 - 2)), { shape: [3, 4] }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const tensors = sampleTensors();
  for (const dtype of ['F32', 'F16', 'BF16']) {
    const path = new URL(`../test/fixtures/wasmgrad-${dtype.toLowerCase()}.safetensors`, import.meta.url);
    saveFile(path, tensors, { metadata: SAMPLE_METADATA, dtype });
    console.log('wrote', path.pathname);
  }
  dispose(tensors);
}
