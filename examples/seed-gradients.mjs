// The first autograd example a PyTorch beginner meets:
//   a = torch.tensor([2., 3.], requires_grad=True); b = torch.tensor([6., 4.], requires_grad=True)
//   f = 2*a**2 + b**2; f.backward(torch.ones_like(f)); a.grad == 4a, b.grad == 2b
import { onesLike, tensor } from 'wasmgrad';

const a = tensor([2, 3], { requiresGrad: true });
const b = tensor([6, 4], { requiresGrad: true });

const f = a.pow(2).mul(2).add(b.pow(2)); // 2a² + b²
f.backward(onesLike(f)); // f is not a scalar, so pass df/df = 1 for each element

console.log(`f = ${f}`);
console.log(`a.grad = ${a.grad}   (4a)`);
console.log(`b.grad = ${b.grad}   (2b)`);
