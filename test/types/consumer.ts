// A consumer of the published declarations (see tsconfig.base.json): every line type-checks
// against dist/ as installed, and each `// @ts-expect-error` line must be an error.
import {
  DataLoader, SGD, TensorDataset, arange, argmax, cat, eye, full, fullLike, gt, linspace, nn, ones, onesLike, rand, randn, reshape, scalar, squeeze,
  stack, tensor, tidy, where, zeros, zerosLike, type DType, type NestedArray, type Tensor,
} from 'wasmgrad';

/** `true` when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when `Equal<A, B>` is true. */
function same<A, B>(proof: Equal<A, B>): void {
  void proof;
}

// ---- creation -----------------------------------------------------------------------------
const f = tensor([1, 2, 3]);
same<typeof f, Tensor<'float32'>>(true);
same<ReturnType<typeof tensor<'float32'>>, Tensor<'float32'>>(true);
same<typeof f.dtype, 'float32'>(true);
const empty = tensor([]);
same<typeof empty, Tensor<'float32'>>(true); // no booleans to tell: float32 at runtime too
const nested = tensor([[1, 2], [3, 4]], { requiresGrad: true });
same<typeof nested, Tensor<'float32'>>(true);
const i = tensor([1, 2], { dtype: 'int32' });
same<typeof i, Tensor<'int32'>>(true);
const i32: Int32Array = i.data();
void i32;
const mask = tensor([true, false, true]);
same<typeof mask, Tensor<'bool'>>(true);
const mask2 = tensor([[true], [false]]);
same<typeof mask2, Tensor<'bool'>>(true);
same<ReturnType<typeof tensor<'bool'>>, Tensor<'bool'>>(true);
declare const someBooleans: boolean[];
// A boolean[] may be empty (then float32), so its dtype is not known.
same<ReturnType<typeof tensor<DType>>, Tensor>(true);
const maybeBool = tensor(someBooleans);
same<typeof maybeBool, Tensor>(true);
same<typeof maybeBool, Tensor<DType>>(true);
const typed = tensor(new Int32Array(3));
same<typeof typed, Tensor<'int32'>>(true);
const r1 = tensor(new Uint8Array(3));
same<typeof r1, Tensor<'int32'>>(true);
const r2 = tensor(new Float32Array(3));
same<typeof r2, Tensor<'float32'>>(true);
const r3 = tensor(new Uint8Array(3), { dtype: 'bool' });
same<typeof r3, Tensor<'bool'>>(true);
const r4 = scalar(1);
same<typeof r4, Tensor<'float32'>>(true);
const r5 = scalar(true);
same<typeof r5, Tensor<'bool'>>(true);
const r6 = full([2], 1);
same<typeof r6, Tensor<'float32'>>(true);
const r7 = full([2], true);
same<typeof r7, Tensor<'bool'>>(true);
const r8 = full([2], 1, { dtype: 'int32' });
same<typeof r8, Tensor<'int32'>>(true);
const r9 = zeros([2]);
same<typeof r9, Tensor<'float32'>>(true);
const r10 = zeros([2], { requiresGrad: true });
same<typeof r10, Tensor<'float32'>>(true);
const r11 = zeros([2], { dtype: 'bool' });
same<typeof r11, Tensor<'bool'>>(true);
const r12 = ones(3);
same<typeof r12, Tensor<'float32'>>(true);
const r13 = arange(5);
same<typeof r13, Tensor<'float32'>>(true);
const r14 = arange(0, 5, 1, { dtype: 'int32' });
same<typeof r14, Tensor<'int32'>>(true);
const r15 = linspace(0, 1, 5);
same<typeof r15, Tensor<'float32'>>(true);
const r16 = eye(3);
same<typeof r16, Tensor<'float32'>>(true);
const r17 = rand([2]);
same<typeof r17, Tensor<'float32'>>(true);
const r18 = randn([2]);
same<typeof r18, Tensor<'float32'>>(true);
const r19 = zerosLike(i);
same<typeof r19, Tensor<'int32'>>(true);
const r20 = onesLike(mask);
same<typeof r20, Tensor<'bool'>>(true);
const r21 = fullLike(mask, 1, { dtype: 'float32' });
same<typeof r21, Tensor<'float32'>>(true);
declare const someDType: DType;
const r22 = zeros([2], { dtype: someDType });
same<typeof r22, Tensor>(true);

// ---- read-back ------------------------------------------------------------------------------
const n: number = tensor([1]).item();
const b: boolean = tensor([1]).gt(0).item();
// @ts-expect-error a bool tensor's item() is a boolean
const notNumber: number = tensor([1]).gt(0).item();
// @ts-expect-error a float32 tensor's item() is a number
const notBoolean: boolean = tensor([1]).item();
const fa: Float32Array = f.data();
const ba: Uint8Array = mask.data();
// @ts-expect-error float32 data is a Float32Array
const notInt: Int32Array = f.data();
const nums: NestedArray<number> = nested.toArray();
const bools: NestedArray<boolean> = mask.toArray();
// @ts-expect-error a bool tensor's toArray() holds booleans
const notNums: NestedArray<number> = mask.toArray();
void [n, b, notNumber, notBoolean, fa, ba, notInt, nums, bools, notNums];
declare const anyTensor: Tensor;
same<ReturnType<typeof anyTensor.item>, number | boolean>(true);
same<ReturnType<typeof anyTensor.data>, Float32Array | Int32Array | Uint8Array>(true);
same<ReturnType<typeof anyTensor.toArray>, NestedArray>(true);
const anyItem: number | boolean = anyTensor.item();
void anyItem;
const count: number = mask.size;
const rank: number = mask.ndim;
void [count, rank];

// ---- any tensor is a Tensor ------------------------------------------------------------------
const id = (t: Tensor) => t;
id(f);
id(i);
id(mask);
const asAny: Tensor = mask;
void asAny;
// @ts-expect-error a bool tensor is not a float32 tensor
const notFloat: Tensor<'float32'> = mask;
void notFloat;
function generic<D extends DType>(t: Tensor<D>): Tensor<D> {
  return t.reshape(-1);
}
same<ReturnType<typeof generic<'bool'>>, Tensor<'bool'>>(true);
const r23 = generic(mask);
same<typeof r23, Tensor<'bool'>>(true);

// ---- result dtypes ---------------------------------------------------------------------------
const r24 = f.add(1);
same<typeof r24, Tensor<'float32'>>(true);
const r25 = mask.add(mask);
same<typeof r25, Tensor<'float32'>>(true); // bool counts as 0/1 float32
const r26 = f.exp();
same<typeof r26, Tensor<'float32'>>(true);
const r27 = f.sum();
same<typeof r27, Tensor<'float32'>>(true);
const r28 = mask.sum();
same<typeof r28, Tensor<'float32'>>(true);
const r29 = f.matmul(f);
same<typeof r29, Tensor<'float32'>>(true);
const r30 = f.softmax(0);
same<typeof r30, Tensor<'float32'>>(true);
const r31 = f.var();
same<typeof r31, Tensor<'float32'>>(true);
const r32 = f.max();
same<typeof r32, Tensor<'float32'>>(true);
const r33 = f.max(0);
same<typeof r33, { values: Tensor<'float32'>; indices: Tensor<'int32'> }>(true);
const r34 = f.gt(0);
same<typeof r34, Tensor<'bool'>>(true);
const r35 = gt(1, f);
same<typeof r35, Tensor<'bool'>>(true);
const r36 = f.eq(f);
same<typeof r36, Tensor<'bool'>>(true);
const r37 = f.logicalNot();
same<typeof r37, Tensor<'bool'>>(true);
const r38 = f.any();
same<typeof r38, Tensor<'bool'>>(true);
const r39 = f.argmax();
same<typeof r39, Tensor<'int32'>>(true);
const r40 = argmax(f, 0);
same<typeof r40, Tensor<'int32'>>(true);
const r41 = f.argmin(0, true);
same<typeof r41, Tensor<'int32'>>(true);
const r42 = f.to('int32');
same<typeof r42, Tensor<'int32'>>(true);
const r43 = mask.to('float32');
same<typeof r43, Tensor<'float32'>>(true);
const r44 = where(mask, f, 0);
same<typeof r44, Tensor<'float32'>>(true);
const r45 = f.maskedFill(mask, 0);
same<typeof r45, Tensor<'float32'>>(true);
const r46 = f.clone();
same<typeof r46, Tensor<'float32'>>(true);
same<NonNullable<typeof f.grad>, Tensor<'float32'>>(true);

// dtype-preserving ops: methods (through method.ts's mapping) and functions
const r47 = mask.reshape([3]);
same<typeof r47, Tensor<'bool'>>(true);
const r48 = mask.view(3);
same<typeof r48, Tensor<'bool'>>(true);
const r49 = mask.squeeze();
same<typeof r49, Tensor<'bool'>>(true);
const r50 = mask.unsqueeze(0);
same<typeof r50, Tensor<'bool'>>(true);
const r51 = mask.flatten();
same<typeof r51, Tensor<'bool'>>(true);
const r52 = mask.unflatten(0, [3, 1]);
same<typeof r52, Tensor<'bool'>>(true);
const r53 = mask2.transpose(0, 1);
same<typeof r53, Tensor<'bool'>>(true);
const r54 = mask2.t();
same<typeof r54, Tensor<'bool'>>(true);
const r55 = mask2.permute(1, 0);
same<typeof r55, Tensor<'bool'>>(true);
const r56 = mask.expand(2, 3);
same<typeof r56, Tensor<'bool'>>(true);
const r57 = mask.flip(0);
same<typeof r57, Tensor<'bool'>>(true);
const r58 = mask.slice(0, 1);
same<typeof r58, Tensor<'bool'>>(true);
const r59 = mask.narrow(0, 0, 1);
same<typeof r59, Tensor<'bool'>>(true);
const r60 = mask.index('1:');
same<typeof r60, Tensor<'bool'>>(true);
const r61 = mask.split(1);
same<typeof r61, Tensor<'bool'>[]>(true);
const r62 = i.chunk(2);
same<typeof r62, Tensor<'int32'>[]>(true);
const r63 = i.tril();
same<typeof r63, Tensor<'int32'>>(true);
const r64 = i.repeat(2);
same<typeof r64, Tensor<'int32'>>(true);
const r65 = i.detach();
same<typeof r65, Tensor<'int32'>>(true);
const r66 = anyTensor.squeeze();
same<typeof r66, Tensor>(true);
const r67 = reshape(mask, [3]);
same<typeof r67, Tensor<'bool'>>(true);
const r68 = squeeze(i);
same<typeof r68, Tensor<'int32'>>(true);
const r69 = cat([i, i]);
same<typeof r69, Tensor<'int32'>>(true);
const r70 = stack([mask, mask]);
same<typeof r70, Tensor<'bool'>>(true);
const r71 = cat([i, f]);
same<typeof r71, Tensor>(true); // mixed: float32 at runtime, typed as any dtype
const reshapedItem: boolean = tensor([true]).reshape([1]).item();
const chained: boolean = mask.reshape([3, 1]).squeeze(1).index(0).item();
void [reshapedItem, chained];
const r72 = tidy(() => mask.reshape(3));
same<typeof r72, Tensor<'bool'>>(true);
// in-place ops return the tensor itself
const r73 = i.copy_(f);
same<typeof r73, Tensor<'int32'>>(true);
const r74 = f.add_(1);
same<typeof r74, Tensor<'float32'>>(true);

// ---- nn ------------------------------------------------------------------------------------
const target = randn([4, 2]);
const pred = randn([4, 2]);
const loss: number = nn.functional.mseLoss(pred, target).item();
same<typeof nn.functional.crossEntropy, (input: Tensor, target: Tensor, options?: nn.functional.CrossEntropyOptions) => Tensor<'float32'>>(true);
const mse = new nn.MSELoss();
const loss2: number = mse.call(pred, target).item();
const linear = new nn.Linear(2, 3);
same<typeof linear.weight, nn.Parameter<'float32'>>(true);
const w: Tensor<'float32'> = linear.weight;
const out = linear.call(pred);
same<typeof out, Tensor<'float32'>>(true);
const hidden: number = new nn.Sequential(linear, new nn.ReLU()).call(pred).sum().item();
void [loss, loss2, w, hidden];
same<ReturnType<typeof linear.forward>, Tensor<'float32'>>(true);
// The activation modules stay overridable with any tensor result.
same<ReturnType<typeof nn.ReLU.prototype.forward>, Tensor>(true);
class Leaky extends nn.ReLU {
  forward(t: Tensor): Tensor {
    return t.leakyRelu(0.5);
  }
}
class Net extends nn.Module {
  fc = new nn.Linear(2, 1);
  forward(x: Tensor): Tensor<'float32'> {
    return this.fc.call(x).relu();
  }
}
const netOut: number = new Net().call(pred).sum().item();
// Custom losses may return any tensor type; the built-in ones are float32.
class MyLoss extends nn.Loss {
  forward(input: Tensor, target: Tensor): Tensor {
    return input.sub(target).abs().mean();
  }
}
same<ReturnType<typeof mse.forward>, Tensor<'float32'>>(true);
const ceLoss = new nn.CrossEntropyLoss().call(pred, tensor([0, 1, 1, 0], { dtype: 'int32' }));
same<typeof ceLoss, Tensor<'float32'>>(true);
void [Leaky, netOut, MyLoss];
same<ReturnType<typeof nn.functional.pad<'bool'>>, Tensor<'bool' | 'float32'>>(true);
same<ReturnType<typeof nn.init.zeros_<Tensor<'float32'>>>, Tensor<'float32'>>(true);

// ---- data and optimizers -----------------------------------------------------------------------
const labels = tensor([0, 1, 1, 0], { dtype: 'int32' });
const dataset = new TensorDataset(pred, labels);
for (const [xb, yb] of new DataLoader(dataset, { batchSize: 2 })) {
  same<typeof xb, Tensor<'float32'>>(true);
  same<typeof yb, Tensor<'int32'>>(true);
}
const optimizer = new SGD(linear.parameters(), { lr: 0.1 });
optimizer.step();

// ---- explicit resource management -------------------------------------------------------------
// `using` type-checks with lib es2022 + dom alone: the package declares Symbol.dispose.
function scoped(): number {
  using t = tensor([1, 2]);
  using m = new nn.Linear(2, 2);
  return t.sum().item() + m.inFeatures;
}
void scoped;
const disposable: Disposable = f;
const module: Disposable = linear;
void [disposable, module];
f[Symbol.dispose]();

