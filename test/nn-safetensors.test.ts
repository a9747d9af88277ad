// Interop with PyTorch through nn modules: the CNN of scripts/safetensors_fixture.py, built
// as the same nn.Sequential (so its state-dict names are PyTorch's), loaded with
// loadStateDict from the F32 and BF16 files PyTorch wrote, matches PyTorch's outputs.
import { describe, expect, it } from 'vitest';
import { dispose, loadFile, memory, nn, noGrad, readHeaderFile, tidy, type Tensor } from '../ts/node.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** scripts/safetensors_fixture.py's `cnn()`: Conv2d(1, 4, 3), ReLU, MaxPool2d(2), Flatten, Linear(36, 10). */
const cnn = () => new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(36, 10));

describe('nn + safetensors: a PyTorch CNN', () => {
  it('loads its F32 and BF16 state dicts into the same nn.Sequential and matches its outputs', () => {
    const before = memory().numTensors;
    const model = cnn().eval();
    expect(Object.keys(model.stateDict({ clone: false })).sort()).toEqual(['0.bias', '0.weight', '4.bias', '4.weight']);
    for (const [weights, output] of [['cnn-f32.safetensors', 'y_f32'], ['cnn-bf16.safetensors', 'y_bf16']] as const) {
      const state = loadFile(fixture(weights)); // BF16 becomes float32 as it loads
      expect(model.loadStateDict(state)).toEqual({ missingKeys: [], unexpectedKeys: [] });
      dispose(state);
      const worst = tidy(() => {
        const io = loadFile(fixture('cnn-io.safetensors'));
        const y = noGrad(() => model.call(io.x!) as Tensor);
        expect(y.shape).toEqual([5, 10]);
        return y.sub(io[output]!).abs().amax().item() as number;
      });
      expect(worst, weights).toBeLessThan(1e-5);
    }
    expect(readHeaderFile(fixture('cnn-bf16.safetensors')).tensors.every((t) => t.dtype === 'BF16')).toBe(true);
    model.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('the BF16 weights differ from the F32 ones, and each file reproduces only its own outputs', () => {
    const model = cnn();
    const worst = tidy(() => {
      const io = loadFile(fixture('cnn-io.safetensors'));
      model.loadStateDict(loadFile(fixture('cnn-bf16.safetensors')));
      const y = noGrad(() => model.call(io.x!) as Tensor);
      return [y.sub(io.y_bf16!).abs().amax().item(), y.sub(io.y_f32!).abs().amax().item()] as number[];
    });
    expect(worst[0]).toBeLessThan(1e-5);
    expect(worst[1]).toBeGreaterThan(1e-4); // so the F32 check above is not vacuous
    model.dispose();
  });
});
