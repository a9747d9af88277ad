// FLOP counts for the GFLOP/s rows (scripts/bench-torch.py counts the same way).
//
// A matmul [M, K]·[K, N] is 2·M·N·K FLOPs; a convolution is 2·N·O·(C/groups)·kH·kW·OH·OW
// (N batch, O output channels, C input channels, OH×OW the output). A training step or a
// "fwd+bwd" row counts each of them 3 times: the forward product and the two backward ones
// (gradient of the input, gradient of the weight). Nothing else is counted (bias, relu,
// pooling, loss, optimizer), so these are *effective* rates: the same count divides every
// library's time, which makes the figures comparable between libraries and with matmul's.

export const matmulFlops = (m, n, k) => 2 * m * n * k;

export const convFlops = ({ n, cOut, cIn, groups = 1, kh, kw, oh, ow }) => 2 * n * cOut * (cIn / groups) * kh * kw * oh * ow;

/** Forward + input gradient + weight gradient. */
export const TRAIN_FACTOR = 3;

/** A row's metric: GFLOP/s from a time in ms, for `flops` FLOPs per repetition. */
export const gflops = (flops) => (ms) => flops / (ms * 1e6);
