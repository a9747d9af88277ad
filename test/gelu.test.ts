// GELU, exact and tanh-approximated: values and gradients against PyTorch 1.13 (float64),
// gradcheck against a float64 reference, NaN, and the option check.
import { describe, expect, it } from 'vitest';
import { ArgumentError, gelu, tensor, tidy } from '../ts/node.js';
import { expectClose, gradcheck } from './helpers/gradcheck.js';
import { erf, geluRef, geluTanhRef, map, randomNd } from './helpers/reference.js';

// Generated with /usr/bin/python3 (torch 1.13):
//   x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
//   y = F.gelu(x, approximate=approx); y.sum().backward()  -> y, x.grad
const GOLDEN = {"x": [-20.0, -8.0, -5.0, -3.0, -2.0, -1.5, -1.0, -0.5, -0.1, -0.001, 0.0, 0.001, 0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 20.0], "none": {"y": [-0.0, -4.884981308350689e-15, -1.4332578593401202e-06, -0.00404969409489031, -0.04550026389635842, -0.10021080190328704, -0.15865525393145702, -0.15426876936299344, -0.0460172162722971, -0.000499601057786089, 0.0, 0.000500398942213911, 0.053982783727702904, 0.34573123063700656, 0.841344746068543, 1.399789198096713, 1.9544997361036416, 2.99595030590511, 4.999998566742141, 7.999999999999995, 20.0], "grad": [-1.1041896724319527e-86, -3.9807546004751306e-14, -7.1469460018034646e-06, -0.01194564720418392, -0.08523180107819692, -0.1274691922299796, -0.08331547058768635, 0.13250487534383712, 0.4204769079752698, 0.4992021157051586, 0.5, 0.5007978842948414, 0.5795230920247302, 0.8674951246561629, 1.0833154705876864, 1.1274691922299795, 1.085231801078197, 1.011945647204184, 1.000007146946002, 1.0000000000000397, 1.0]}, "tanh": {"y": [-0.0, -0.0, -2.2917961972623857e-07, -0.0036373920817729943, -0.04540230591222494, -0.10042842301976707, -0.1588080093917233, -0.15428599017485606, -0.04601724895456484, -0.000499601057786418, 0.0, 0.000500398942213582, 0.053982751045435165, 0.34571400982514394, 0.8411919906082768, 1.3995715769802328, 1.954597694087775, 2.996362607918227, 4.999999770820381, 8.0, 20.0], "grad": [0.0, 0.0, -1.5463619879596227e-06, -0.011584166630969648, -0.0860992566236183, -0.12771079315143308, -0.08296408384578258, 0.13263009646535764, 0.4204782107282433, 0.499202115706475, 0.5, 0.500797884293525, 0.5795217892717567, 0.8673699035346424, 1.0829640838457826, 1.127710793151433, 1.0860992566236183, 1.0115841666309695, 1.000001546361988, 1.0, 1.0]}};

describe('gelu', () => {
  for (const approximate of ['none', 'tanh'] as const) {
    it(`approximate '${approximate}' matches PyTorch's values and gradients`, () => {
      const golden = GOLDEN[approximate];
      const got = tidy(() => {
        const x = tensor(GOLDEN.x, { requiresGrad: true });
        const y = x.gelu({ approximate });
        y.sum().backward();
        return { y: Array.from(y.data()), grad: Array.from(x.grad!.data()) };
      });
      expectClose(got.y, golden.y, 1e-6, 1e-5, 'gelu');
      expectClose(got.grad, golden.grad, 1e-6, 1e-5, 'gelu grad');
    });
    it(`approximate '${approximate}' passes gradcheck`, () => {
      const ref = approximate === 'tanh' ? geluTanhRef : geluRef;
      gradcheck((x) => gelu(x, { approximate }), (x) => map(x, ref), [randomNd([3, 5], 31, -4, 4)]);
    });
  }
  it("the exact gelu's gradient (a vectorised kernel) is Φ(x) + x·φ(x) within 3e-7 over [-4, 4], the same bits in SIMD lanes and scalar tails", () => {
    const xs = Array.from({ length: 4001 }, (_, i) => Math.fround(-4 + i * 0.002));
    const grad = (values: number[]) =>
      tidy(() => {
        const x = tensor(values, { requiresGrad: true });
        x.gelu().sum().backward();
        return Array.from(x.grad!.data());
      });
    const got = grad(xs);
    const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
    xs.forEach((x, i) => expect(Math.abs(got[i]! - (0.5 * (1 + erf(x / Math.SQRT2)) + x * pdf(x))), `d/dx gelu(${x})`).toBeLessThanOrEqual(3e-7));
    expect(got[2000]).toBe(0.5); // x = 0
    // Lengths 1..9 put each value in a SIMD lane or in the scalar tail.
    for (let n = 1; n <= 9; n++) expect(grad(xs.slice(1000, 1000 + n)), `length ${n}`).toEqual(got.slice(1000, 1000 + n));
    const special = grad([NaN, Infinity, -Infinity, 20, -20]);
    expect(special.slice(0, 3).every(Number.isNaN), 'NaN, and inf·0 at ±inf as in torch').toBe(true);
    expect(special.slice(3)).toEqual([1, 0]);
  });
  it('propagates NaN and rejects an unknown approximation', () => {
    expect(Number.isNaN(tidy(() => tensor([NaN]).gelu().item()))).toBe(true);
    expect(() => tidy(() => tensor([1]).gelu({ approximate: 'erf' as never }))).toThrow(ArgumentError);
  });
  it('names its node GeluBackward0', () => {
    expect(tidy(() => tensor([1], { requiresGrad: true }).gelu().gradFn)).toBe('GeluBackward0');
  });
});
