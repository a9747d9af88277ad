/**
 * wasmgrad: PyTorch-style tensors and autograd for JavaScript, computed in WebAssembly.
 * @module
 */
export { Tensor, type DType, type DimsArg, type NestedArray, type Operand } from './tensor.js';
export {
  arange, eye, full, fullLike, linspace, manualSeed, ones, onesLike, rand, randn, scalar, tensor,
  zeros, zerosLike, type ShapeLike, type TensorOptions,
} from './creation.js';
export * from './functional.js';
export { crossEntropy, linear, logSoftmax, softmax, type Activation, type CrossEntropyOptions, type Reduction } from './nn.js';
export { enableGrad, isGradEnabled, noGrad } from './autograd.js';
export { keep, tidy } from './scope.js';
export { dispose, memory, type MemoryInfo } from './memory.js';
export { init, relaxedSimdSupported, simdVariant, type SimdVariant, type WasmSource } from './ffi.js';
export {
  ArgumentError, AutogradError, DisposedError, DTypeError, OutOfMemoryError, PoisonedError, ShapeError,
  TensorError,
} from './errors.js';
