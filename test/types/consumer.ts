// Compiles against the published declarations (see tsconfig.base.json).
import { tensor, type Tensor } from 'wasmgrad';

const x: Tensor = tensor([1, 2, 3]);
export const n = x.sum().item();
x.dispose();
