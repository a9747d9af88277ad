// Writes test/fixtures/wasmgrad-{f32,f16,bf16}.safetensors with wasmgrad's `saveFile`, for
// PyTorch to read back (run by hand after `npx tsc -p tsconfig.build.json`):
//
//   node scripts/write-safetensors-sample.mjs
//   /usr/bin/python3 scripts/safetensors_fixture.py check
//
// test/safetensors.test.ts checks that save() still produces these exact bytes, from the
// same tensors (test/fixtures/safetensors-sample.mjs).
import { arange, dispose, saveFile, tensor } from '../dist/node.js';
import { SAMPLE_METADATA, sampleTensors } from '../test/fixtures/safetensors-sample.mjs';

const tensors = sampleTensors({ arange, tensor });
for (const dtype of ['F32', 'F16', 'BF16']) {
  const path = new URL(`../test/fixtures/wasmgrad-${dtype.toLowerCase()}.safetensors`, import.meta.url);
  saveFile(path, tensors, { metadata: SAMPLE_METADATA, dtype });
  console.log('wrote', path.pathname);
}
dispose(tensors);
