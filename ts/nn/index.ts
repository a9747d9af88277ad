/**
 * The `nn` namespace: modules (PyTorch's `torch.nn`), `nn.init`, `nn.utils` and
 * `nn.functional`. `import { nn } from 'wasmgrad'; new nn.Linear(784, 256)`.
 * @module
 */
export { Module, Parameter, isParameter, type LoadResult, type StateDictOptions } from './module.js';
export { Embedding, Flatten, Identity, Linear, Unflatten } from './layers/linear.js';
export { AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, type ConvOptions, type ConvTransposeOptions } from './layers/conv.js';
export { BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, RMSNorm, type BatchNormOptions } from './layers/norm.js';
export { Dropout, ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh } from './layers/activation.js';
export { ModuleDict, ModuleList, Sequential } from './layers/container.js';
export {
  MultiheadAttention, NonDynamicallyQuantizableLinear, TransformerEncoder, TransformerEncoderLayer,
  type AttentionOptions, type TransformerActivation, type TransformerEncoderLayerOptions,
} from './layers/transformer.js';
export { BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, Loss, MSELoss, NLLLoss, SmoothL1Loss } from './loss.js';
export * as init from './init.js';
export * as utils from './utils.js';
export * as functional from './functional.js';
