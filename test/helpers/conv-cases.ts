// Registers one test per convolution case: forward against the plain-JS reference and
// gradients by finite differences (shared by the conv path and image-block test files).
import { it } from 'vitest';
import { conv2d } from '../../ts/node.js';
import { gradcheck } from './gradcheck.js';
import { randomNd } from './reference.js';
import { refConv2d, type ConvCfg } from './reference-nn.js';

/** A label, the input and weight shapes, whether there is a bias, and the geometry. */
export type ConvCase = [string, number[], number[], boolean, ConvCfg];

const TOL = { forwardAtol: 1e-4, forwardRtol: 1e-4 };

/** Inside a `describe`: one `it` per case, its inputs seeded from `seed`. */
export function gradcheckConvCases(cases: ConvCase[], seed: number): void {
  for (const [label, xs, ws, bias, cfg] of cases) {
    it(`${label}: forward and gradients`, () => {
      const inputs = [randomNd(xs, seed), randomNd(ws, seed + 1), ...(bias ? [randomNd([ws[0]!], seed + 2)] : [])];
      const options = { stride: cfg.stride, padding: cfg.pad, dilation: cfg.dilation, groups: cfg.groups };
      gradcheck((x, w, b) => conv2d(x, w, b ?? null, options), (x, w, b) => refConv2d(x, w, b ?? null, cfg), inputs, TOL);
    });
  }
}
