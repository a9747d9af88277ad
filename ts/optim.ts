/**
 * Optimizers with PyTorch's `torch.optim` semantics — {@link SGD}, {@link Adam},
 * {@link AdamW}, {@link RMSprop}, {@link Adagrad} — and learning-rate schedulers
 * ({@link lrScheduler}). A step is one fused pass in wasm over each parameter, its
 * gradient and its state; no temporary tensors are created.
 *
 * @example
 * const opt = new Adam([w, b], { lr: 1e-3 });
 * for (const [x, y] of batches) {
 *   tidy(() => {
 *     opt.zeroGrad();
 *     loss(model(x), y).backward();
 *     opt.step();
 *   });
 * }
 * opt.dispose(); // frees the optimizer's state tensors
 * @module
 */
export {
  fromPyTorchNames, Optimizer, toPyTorchNames, type OptimizerStateDict, type ParamGroup, type ParamGroupInput,
  type ParamGroupStateDict, type Params, type ParamState, type ParamStateDict, type PyTorchOptimizerStateDict,
  type SchedulerGroupFields,
} from './optim/optimizer.js';
export { SGD, type SGDHyper, type SGDOptions } from './optim/sgd.js';
export { Adam, AdamW, type AdamHyper, type AdamOptions } from './optim/adam.js';
export { RMSprop, type RMSpropHyper, type RMSpropOptions } from './optim/rmsprop.js';
export { Adagrad, type AdagradHyper, type AdagradOptions } from './optim/adagrad.js';
export * as lrScheduler from './optim/lr_scheduler.js';
