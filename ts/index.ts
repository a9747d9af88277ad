/**
 * wasmgrad: PyTorch-style tensors and autograd for JavaScript, computed in WebAssembly.
 * @module
 */
// All of tensor.ts and ops.ts is public (their plumbing lives in dispatch.ts and method.ts),
// so a new op needs no edit here.
export * from './tensor.js';
export * from './ops.js';
export type { IndexItem, IndexSpec } from './indexing.js';
export {
  arange, eye, full, fullLike, linspace, manualSeed, ones, onesLike, rand, randn, scalar, tensor,
  zeros, zerosLike, type BoolData, type NumberData, type ShapeLike, type TensorData, type TensorOptions,
} from './creation.js';
export * from './composites.js';
export { adaptiveAvgPool2d, avgPool2d, conv1d, conv2d, convTranspose2d, crossEntropy, linear, maxPool2d, type Activation, type AvgPool2dOptions, type Conv1dOptions, type Conv2dOptions, type ConvTranspose2dOptions, type CrossEntropyOptions, type MaxPool2dOptions, type Pair, type Reduction, binaryCrossEntropy, binaryCrossEntropyWithLogits, batchNorm, dropout, embedding, groupNorm, l1Loss, layerNorm, nllLoss, pad, mseLoss, oneHot, scaledDotProductAttention, smoothL1Loss } from './nn/functional.js';
export * as nn from './nn/index.js';
export { enableGrad, grad, isGradEnabled, noGrad, type GradOptions } from './autograd.js';
export { defineFunction, type CustomFunction, type FunctionCtx, type FunctionDefinition } from './function.js';
export {
  Adagrad, Adam, AdamW, fromPyTorchNames, lrScheduler, Optimizer, RMSprop, SGD, toPyTorchNames, type AdagradHyper,
  type AdagradOptions, type AdamHyper, type AdamOptions, type OptimizerStateDict, type ParamGroup, type ParamGroupInput,
  type ParamGroupStateDict, type ParamState, type ParamStateDict, type Params, type PyTorchOptimizerStateDict,
  type RMSpropHyper, type RMSpropOptions, type SchedulerGroupFields, type SGDHyper, type SGDOptions,
} from './optim.js';
export { keep, tidy } from './scope.js';
export { dispose, memory, setMemoryLimit, wasmMemory, type MemoryInfo, type WasmMemoryInfo } from './memory.js';
export { isDebug, leakReport, setDebug, type LeakSite } from './leaks.js';
export { simdVariant, type SimdVariant } from './ffi.js';
export { getNumThreads, setNumThreads, threadsSupported } from './threads.js';
export { init, relaxedSimdSupported, type InitOptions, type WasmSource, type WasmSources } from './load.js';
export {
  ArgumentError, AutogradError, DisposedError, DTypeError, LoadError, OutOfMemoryError, PoisonedError, ShapeError,
  TensorError,
} from './errors.js';
export { gradcheck, type GradcheckOptions } from './gradcheck.js';
export { DataLoader, RandomGenerator, TensorDataset, type DataLoaderOptions } from './data.js';
export { Progress, type ProgressOptions, type ProgressStream } from './io/progress.js';
export { CHECKPOINT_VERSION, loadCheckpoint, saveCheckpoint, type CheckpointParts, type LoadedCheckpoint, type SaveCheckpointOptions } from './io/checkpoint.js';
export { FormatError, load, readHeader, save, type SafetensorsDtype, type SafetensorsHeader, type SaveDtype, type SaveOptions, type TensorInfo } from './io/safetensors.js';
