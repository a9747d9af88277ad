// Every test must leave wasm memory as it found it: same live tensors, same bytes.
import { afterEach, beforeEach, expect } from 'vitest';
import { memory, type MemoryInfo } from '../../ts/node.js';

let before: MemoryInfo;

beforeEach(() => {
  before = memory();
});

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') return; // the failure itself is the report
  const after = memory();
  expect({ numTensors: after.numTensors, numBytes: after.numBytes }, 'a tensor leaked in this test').toEqual({
    numTensors: before.numTensors,
    numBytes: before.numBytes,
  });
});
