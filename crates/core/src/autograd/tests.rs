//! Host-side tests of the tape: the seed example, accumulation, the second-backward and
//! in-place guards, and deep graphs (which must not recurse).

use super::engine::{self, grad, PassOptions};
use super::mode::NoGradGuard;
use crate::ops::binary::{add, mul, mul_scalar, pow};
use crate::ops::inplace::{apply, InplaceOp};
use crate::ops::reduce::sum;
use crate::storage::DType;
use crate::{ErrorKind, Tensor};

fn backward_(root: &Tensor, g: Option<&Tensor>, retain_graph: bool) -> crate::Result<()> {
    engine::backward(root, g, PassOptions { retain_graph, create_graph: false }).map(|_| ())
}

fn leaf(values: &[f32]) -> Tensor {
    let t = Tensor::from_f32(values.to_vec(), &[values.len()]).unwrap();
    t.set_requires_grad(true).unwrap();
    t
}

fn grad_of(t: &Tensor) -> Vec<f64> {
    t.grad().expect("gradient").to_f64_vec().unwrap()
}

#[test]
fn seed_example_gives_4a_and_2b() {
    let (a, b) = (leaf(&[2.0, 3.0]), leaf(&[6.0, 4.0]));
    let two = Tensor::scalar(2.0);
    let f = add(&mul_scalar(&pow(&a, &two).unwrap(), 2.0).unwrap(), &pow(&b, &two).unwrap()).unwrap();
    let ones = Tensor::full("t", &[2], 1.0, DType::F32).unwrap();
    backward_(&f, Some(&ones), false).unwrap();
    assert_eq!(grad_of(&a), vec![8.0, 12.0]);
    assert_eq!(grad_of(&b), vec![12.0, 8.0]);
}

#[test]
fn gradients_accumulate_and_second_backward_needs_retain() {
    let x = leaf(&[1.0, 2.0]);
    let y = sum(&mul(&x, &x).unwrap(), None, false).unwrap();
    backward_(&y, None, true).unwrap();
    backward_(&y, None, false).unwrap();
    assert_eq!(grad_of(&x), vec![4.0, 8.0]);
    let err = backward_(&y, None, false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Autograd);
    assert!(err.message.contains("retainGraph"), "{}", err.message);
}

#[test]
fn broadcast_gradients_are_reduced_to_input_shape() {
    let x = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    x.set_requires_grad(true).unwrap();
    let b = leaf(&[1.0, 1.0, 1.0]);
    let y = sum(&mul(&x, &b).unwrap(), None, false).unwrap();
    backward_(&y, None, false).unwrap();
    assert_eq!(grad_of(&b), vec![5.0, 7.0, 9.0]);
    assert_eq!(grad_of(&x), vec![1.0; 6]);
}

#[test]
fn inplace_change_of_a_saved_tensor_is_reported() {
    let x = leaf(&[1.0, 2.0]);
    let w = Tensor::from_f32(vec![3.0, 4.0], &[2]).unwrap();
    let y = sum(&mul(&x, &w).unwrap(), None, false).unwrap();
    {
        let _g = NoGradGuard::new();
        apply("add_", InplaceOp::Add, &w, &Tensor::scalar(1.0)).unwrap();
    }
    let err = backward_(&y, None, false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Autograd);
    assert!(err.message.contains("in-place"), "{}", err.message);
}

#[test]
fn deep_chains_neither_recurse_in_backward_nor_in_drop() {
    let x = leaf(&[1.0]);
    let mut y = x.clone();
    for _ in 0..200_000 {
        y = add(&y, &Tensor::scalar(1.0)).unwrap();
    }
    backward_(&y, None, false).unwrap();
    assert_eq!(grad_of(&x), vec![1.0]);
    drop(y); // 200 000 nodes unlinked iteratively
}

#[test]
fn leaf_gradient_is_independent_of_the_seed() {
    let x = leaf(&[1.0, 2.0]);
    let seed = Tensor::full("t", &[2], 1.0, DType::F32).unwrap();
    backward_(&x, Some(&seed), false).unwrap();
    {
        let _g = NoGradGuard::new();
        apply("add_", InplaceOp::Add, &seed, &Tensor::scalar(5.0)).unwrap();
    }
    assert_eq!(grad_of(&x), vec![1.0, 1.0]);
}

#[test]
fn second_derivative_of_cube_is_6x() {
    let x = leaf(&[0.5, -2.0, 3.0]);
    let y = sum(&pow(&x, &Tensor::scalar(3.0)).unwrap(), None, false).unwrap();
    let create = PassOptions { retain_graph: true, create_graph: true };
    let dy = grad(&[y], &[None], &[x.clone()], create, false).unwrap().remove(0).unwrap();
    assert_eq!(dy.to_f64_vec().unwrap(), vec![0.75, 12.0, 27.0]);
    let d2 = grad(&[sum(&dy, None, false).unwrap()], &[None], &[x.clone()], PassOptions::default(), false).unwrap();
    assert_eq!(d2[0].as_ref().unwrap().to_f64_vec().unwrap(), vec![3.0, -12.0, 18.0]);
    assert!(x.grad().is_none(), "grad() must not accumulate into .grad");
}

#[test]
fn grad_of_an_unused_input_needs_allow_unused() {
    let (x, z) = (leaf(&[1.0]), leaf(&[2.0]));
    let y = mul(&x, &x).unwrap();
    let err = grad(&[y.clone()], &[None], &[z.clone()], PassOptions { retain_graph: true, ..Default::default() }, false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Autograd);
    let g = grad(&[y], &[None], &[x, z], PassOptions::default(), true).unwrap();
    assert_eq!(g[0].as_ref().unwrap().to_f64_vec().unwrap(), vec![2.0]);
    assert!(g[1].is_none());
}
