//! Host tests of the optimizer updates.
use super::*;
use crate::error::ErrorKind;

fn t(v: &[f32]) -> Tensor {
    Tensor::from_f32(v.to_vec(), &[v.len()]).unwrap()
}
fn vals(t: &Tensor) -> Vec<f64> {
    t.to_f64_vec().unwrap()
}
fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-5 * y.abs().max(1e-3), "{a:?} vs {b:?}");
    }
}
fn sgd(lr: f64, momentum: f64, dampening: f64, weight_decay: f64, nesterov: bool, maximize: bool) -> SgdConfig {
    SgdConfig { lr, momentum, dampening, weight_decay, nesterov, maximize }
}
fn adam(lr: f64, weight_decay: f64, decoupled: bool, step: f64) -> AdamConfig {
    AdamConfig { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay, decoupled, maximize: false, step }
}

/// f64 reference of PyTorch's SGD over a few steps with fixed gradients.
fn sgd_reference(p0: &[f64], grads: &[Vec<f64>], c: &SgdConfig) -> Vec<f64> {
    let mut p = p0.to_vec();
    let mut buf: Option<Vec<f64>> = None;
    for g in grads {
        let mut d: Vec<f64> = g.iter().map(|x| if c.maximize { -x } else { *x }).collect();
        if c.weight_decay != 0.0 {
            d.iter_mut().zip(&p).for_each(|(d, p)| *d += c.weight_decay * p);
        }
        if c.momentum != 0.0 {
            let b = match buf.take() {
                None => d.clone(),
                Some(b) => b.iter().zip(&d).map(|(b, d)| b * c.momentum + (1.0 - c.dampening) * d).collect(),
            };
            d = if c.nesterov { d.iter().zip(&b).map(|(d, b)| d + c.momentum * b).collect() } else { b.clone() };
            buf = Some(b);
        }
        p.iter_mut().zip(&d).for_each(|(p, d)| *p -= c.lr * d);
    }
    p
}

#[test]
fn sgd_matches_the_reference_in_every_mode() {
    let p0 = [1.5, -2.0, 0.5];
    let grads: Vec<Vec<f64>> = vec![vec![0.3, -1.0, 2.0], vec![-0.5, 0.25, 1.0], vec![1.0, 1.0, -3.0]];
    for c in [
        sgd(0.1, 0.0, 0.0, 0.0, false, false),
        sgd(0.1, 0.9, 0.0, 0.0, false, false),
        sgd(0.1, 0.9, 0.0, 0.0, true, false),
        sgd(0.1, 0.9, 0.5, 0.1, false, true),
        sgd(0.1, 0.0, 0.0, 0.1, false, false),
        sgd(0.1, 0.9, 0.0, 0.1, true, true),
    ] {
        let p = t(&p0.map(|x| x as f32));
        let buf = t(&[0.0; 3]);
        for (i, g) in grads.iter().enumerate() {
            let g = t(&g.iter().map(|&x| x as f32).collect::<Vec<_>>());
            sgd_step(&p, &g, Some(&buf), i == 0, &c).unwrap();
        }
        close(&vals(&p), &sgd_reference(&p0, &grads, &c));
    }
}

#[test]
fn adam_first_step_moves_each_element_by_about_lr() {
    // With zero state, step 1 gives m̂ = g and v̂ = g², so the update is lr·g/(|g| + eps).
    let p = t(&[1.0, -1.0, 0.0]);
    let (m, v) = (t(&[0.0; 3]), t(&[0.0; 3]));
    adam_step(&p, &t(&[2.0, -0.5, 3.0]), &m, &v, None, &adam(0.1, 0.0, false, 1.0)).unwrap();
    close(&vals(&p), &[0.9, -0.9, -0.1]);
    close(&vals(&m), &[0.2, -0.05, 0.3]);
    close(&vals(&v), &[0.004, 0.00025, 0.009]);
}

#[test]
fn adamw_decays_the_parameter_before_the_update() {
    let p = t(&[1.0, -1.0]);
    let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
    adam_step(&p, &t(&[1.0, -1.0]), &m, &v, None, &adam(0.1, 0.5, true, 1.0)).unwrap();
    close(&vals(&p), &[0.95 - 0.1, -0.95 + 0.1]);
    // Adam (L2) adds the decay to the gradient instead: g = 1 + 0.5 = 1.5, same sign.
    let p = t(&[1.0]);
    let (m, v) = (t(&[0.0]), t(&[0.0]));
    adam_step(&p, &t(&[1.0]), &m, &v, None, &adam(0.1, 0.5, false, 1.0)).unwrap();
    close(&vals(&p), &[0.9]);
    close(&vals(&m), &[0.15]);
}

#[test]
fn steps_bump_versions_and_record_nothing_with_grad_mode_on() {
    let p = t(&[1.0, 2.0]);
    p.set_requires_grad(true).unwrap();
    let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
    let before = (p.storage().version(), m.storage().version(), v.storage().version());
    adam_step(&p, &t(&[1.0, 1.0]), &m, &v, None, &adam(0.1, 0.0, false, 1.0)).unwrap();
    assert_eq!(p.storage().version(), before.0 + 1);
    assert_eq!(m.storage().version(), before.1 + 1);
    assert_eq!(v.storage().version(), before.2 + 1);
    assert!(p.is_leaf() && p.requires_grad());
    sgd_step(&p, &t(&[1.0, 1.0]), None, false, &sgd(0.1, 0.0, 0.0, 0.0, false, false)).unwrap();
    assert_eq!(p.storage().version(), before.0 + 2);
}

#[test]
fn strided_gradients_are_read_through_their_layout() {
    // grad = [[1, 2], [3, 4]] transposed → [1, 3, 2, 4] in row-major order.
    let g = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let gt = g.view_with(g.layout().permuted(&[1, 0]));
    let p = Tensor::from_f32(vec![0.0; 4], &[2, 2]).unwrap();
    sgd_step(&p, &gt, None, false, &sgd(1.0, 0.0, 0.0, 0.0, false, false)).unwrap();
    close(&vals(&p), &[-1.0, -3.0, -2.0, -4.0]);
}

#[test]
fn bad_input_is_a_typed_error_and_leaves_tensors_untouched() {
    let p = t(&[1.0, 2.0]);
    let g = t(&[1.0, 1.0]);
    let (m, v) = (t(&[0.0; 2]), t(&[0.0; 2]));
    let kind = |r: Result<()>| r.unwrap_err().kind;
    let base = sgd(0.1, 0.0, 0.0, 0.0, false, false);
    for c in [
        SgdConfig { lr: -0.1, ..base },
        SgdConfig { lr: f64::NAN, ..base },
        SgdConfig { momentum: -1.0, ..base },
        SgdConfig { weight_decay: f64::INFINITY, ..base },
        SgdConfig { nesterov: true, ..base },
        SgdConfig { nesterov: true, momentum: 0.9, dampening: 0.1, ..base },
    ] {
        assert_eq!(kind(sgd_step(&p, &g, Some(&m), false, &c)), ErrorKind::Argument, "{c:?}");
    }
    let a = adam(0.1, 0.0, false, 1.0);
    for c in [
        AdamConfig { beta1: 1.0, ..a },
        AdamConfig { beta2: -0.1, ..a },
        AdamConfig { eps: -1.0, ..a },
        AdamConfig { weight_decay: -1.0, ..a },
        AdamConfig { step: 0.0, ..a },
        AdamConfig { step: 1.5, ..a },
        AdamConfig { lr: f64::INFINITY, ..a },
    ] {
        assert_eq!(kind(adam_step(&p, &g, &m, &v, None, &c)), ErrorKind::Argument, "{c:?}");
    }
    // Momentum without a buffer; shapes; dtypes; aliasing; non-contiguous parameters.
    assert_eq!(kind(sgd_step(&p, &g, None, true, &sgd(0.1, 0.9, 0.0, 0.0, false, false))), ErrorKind::Argument);
    assert_eq!(kind(adam_step(&p, &t(&[1.0; 3]), &m, &v, None, &a)), ErrorKind::Shape);
    assert_eq!(kind(adam_step(&p, &g, &t(&[0.0; 3]), &v, None, &a)), ErrorKind::Shape);
    let ints = Tensor::from_buffer(Buffer::I32(vec![1, 1]), &[2]).unwrap();
    assert_eq!(kind(adam_step(&p, &ints, &m, &v, None, &a)), ErrorKind::DType);
    assert_eq!(kind(adam_step(&p, &g, &m, &m, None, &a)), ErrorKind::Argument);
    assert_eq!(kind(adam_step(&p, &p.detach(), &m, &v, None, &a)), ErrorKind::Argument);
    assert_eq!(kind(sgd_step(&p, &p, None, false, &base)), ErrorKind::Argument);
    let square = Tensor::from_f32(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let strided = square.view_with(square.layout().permuted(&[1, 0]));
    assert_eq!(
        kind(sgd_step(&strided, &Tensor::from_f32(vec![0.0; 4], &[2, 2]).unwrap(), None, false, &base)),
        ErrorKind::Argument
    );
    // A missing state tensor (the decoder guarantees presence; the accessor still checks).
    use crate::ops::schema::{update, Args, Value};
    let mut values = vec![Value::Tensor(Some(p.clone())), Value::Tensor(Some(g.clone())), Value::Tensor(Some(m.clone())), Value::Tensor(None), Value::Tensor(None)];
    values.extend([0.1, 0.9, 0.999, 1e-8, 0.0, 1.0].map(Value::Float));
    values.extend([false, false].map(Value::Bool));
    assert_eq!(kind(update(&OPS[1], &Args::new("adam", values))), ErrorKind::Argument);
    assert_eq!(vals(&p), [1.0, 2.0]);
    assert_eq!(vals(&m), [0.0, 0.0]);
    assert_eq!(vals(&v), [0.0, 0.0]);
    assert_eq!(p.storage().version(), 0);
}


/// f64 reference of PyTorch's RMSprop over a few steps with fixed gradients.
fn rmsprop_reference(p0: &[f64], grads: &[Vec<f64>], c: &RmspropConfig) -> Vec<f64> {
    let n = p0.len();
    let (mut p, mut sq, mut ga, mut buf) = (p0.to_vec(), vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for g in grads {
        for i in 0..n {
            let mut gi = if c.maximize { -g[i] } else { g[i] };
            gi += c.weight_decay * p[i];
            sq[i] = c.alpha * sq[i] + (1.0 - c.alpha) * gi * gi;
            let mut var = sq[i];
            if c.centered {
                ga[i] = c.alpha * ga[i] + (1.0 - c.alpha) * gi;
                var -= ga[i] * ga[i];
            }
            let avg = var.sqrt() + c.eps;
            if c.momentum > 0.0 {
                buf[i] = c.momentum * buf[i] + gi / avg;
                p[i] -= c.lr * buf[i];
            } else {
                p[i] -= c.lr * gi / avg;
            }
        }
    }
    p
}

#[test]
fn rmsprop_matches_the_reference_in_every_mode() {
    let p0 = [1.5, -2.0, 0.5];
    let grads: Vec<Vec<f64>> = vec![vec![0.3, -1.0, 2.0], vec![-0.5, 0.25, 1.0], vec![1.0, 1.0, -3.0]];
    let base = RmspropConfig { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false, maximize: false };
    for c in [
        base,
        RmspropConfig { centered: true, ..base },
        RmspropConfig { momentum: 0.9, ..base },
        RmspropConfig { momentum: 0.9, centered: true, weight_decay: 0.1, maximize: true, alpha: 0.9, ..base },
        RmspropConfig { weight_decay: 0.1, ..base },
    ] {
        let p = t(&p0.map(|x| x as f32));
        let (sq, ga, buf) = (t(&[0.0; 3]), t(&[0.0; 3]), t(&[0.0; 3]));
        for g in &grads {
            let g = t(&g.iter().map(|&x| x as f32).collect::<Vec<_>>());
            rmsprop_step(&p, &g, &sq, Some(&ga), Some(&buf), &c).unwrap();
        }
        close(&vals(&p), &rmsprop_reference(&p0, &grads, &c));
        if !c.centered {
            assert_eq!(vals(&ga), [0.0; 3], "grad_avg is not touched unless centered");
        }
        if c.momentum == 0.0 {
            assert_eq!(vals(&buf), [0.0; 3], "the buffer is not touched without momentum");
        }
    }
}

#[test]
fn adagrad_matches_the_reference_with_lr_decay_and_initial_accumulator() {
    let p0 = [1.5, -2.0, 0.5];
    let grads: Vec<Vec<f64>> = vec![vec![0.3, -1.0, 2.0], vec![-0.5, 0.25, 1.0], vec![1.0, 1.0, -3.0]];
    for (lr_decay, wd, init, maximize) in [(0.0, 0.0, 0.0, false), (0.5, 0.1, 0.25, false), (0.1, 0.0, 1.0, true)] {
        let c = |step: f64| AdagradConfig { lr: 0.1, lr_decay, weight_decay: wd, eps: 1e-10, step, maximize };
        let p = t(&p0.map(|x| x as f32));
        let sum = t(&[init as f32; 3]);
        let (mut rp, mut rs) = (p0.to_vec(), vec![init; 3]);
        for (k, g) in grads.iter().enumerate() {
            let step = (k + 1) as f64;
            adagrad_step(&p, &t(&g.iter().map(|&x| x as f32).collect::<Vec<_>>()), &sum, &c(step)).unwrap();
            let clr = 0.1 / (1.0 + (step - 1.0) * lr_decay);
            for i in 0..3 {
                let gi = if maximize { -g[i] } else { g[i] } + wd * rp[i];
                rs[i] += gi * gi;
                rp[i] -= clr * gi / (rs[i].sqrt() + 1e-10);
            }
        }
        close(&vals(&p), &rp);
        close(&vals(&sum), &rs);
    }
}

#[test]
fn amsgrad_keeps_the_running_maximum_and_uses_it() {
    // Gradients 2 then 0: exp_avg_sq falls on step 2, the maximum keeps step 1's value.
    let (p, m, v, mx) = (t(&[1.0]), t(&[0.0]), t(&[0.0]), t(&[0.0]));
    let c = |step: f64| AdamConfig { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, decoupled: false, maximize: false, step };
    adam_step(&p, &t(&[2.0]), &m, &v, Some(&mx), &c(1.0)).unwrap();
    close(&vals(&mx), &[0.004]);
    close(&vals(&p), &[0.9]);
    adam_step(&p, &t(&[0.0]), &m, &v, Some(&mx), &c(2.0)).unwrap();
    close(&vals(&v), &[0.004 * 0.999]);
    close(&vals(&mx), &[0.004]);
    // m = 0.18, m̂ = 0.18/0.19, v̂max = 0.004/(1 − 0.999²)
    let expected = 0.9 - 0.1 / 0.19 * 0.18 / ((0.004f64).sqrt() / (1.0 - 0.999f64 * 0.999).sqrt() + 1e-8);
    close(&vals(&p), &[expected]);
    // NaN propagates into the maximum, as torch.maximum does.
    let (p, m, v, mx) = (t(&[1.0]), t(&[0.0]), t(&[0.0]), t(&[0.0]));
    adam_step(&p, &t(&[f32::NAN]), &m, &v, Some(&mx), &c(1.0)).unwrap();
    assert!(vals(&mx)[0].is_nan());
    // The maximum must be its own tensor of the parameter's shape.
    let kind = |r: Result<()>| r.unwrap_err().kind;
    assert_eq!(kind(adam_step(&p, &t(&[1.0]), &m, &v, Some(&v), &c(1.0))), ErrorKind::Argument);
    assert_eq!(kind(adam_step(&p, &t(&[1.0]), &m, &v, Some(&t(&[0.0; 2])), &c(1.0))), ErrorKind::Shape);
}

#[test]
fn rmsprop_and_adagrad_reject_bad_input_and_leave_tensors_untouched() {
    let p = t(&[1.0, 2.0]);
    let g = t(&[1.0, 1.0]);
    let (s, a, b) = (t(&[0.0; 2]), t(&[0.0; 2]), t(&[0.0; 2]));
    let kind = |r: Result<()>| r.unwrap_err().kind;
    let r = RmspropConfig { lr: 0.01, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false, maximize: false };
    for c in [
        RmspropConfig { lr: -1.0, ..r },
        RmspropConfig { alpha: -0.5, ..r },
        RmspropConfig { eps: f64::NAN, ..r },
        RmspropConfig { weight_decay: -1.0, ..r },
        RmspropConfig { momentum: -0.1, ..r },
    ] {
        assert_eq!(kind(rmsprop_step(&p, &g, &s, Some(&a), Some(&b), &c)), ErrorKind::Argument, "{c:?}");
    }
    assert_eq!(kind(rmsprop_step(&p, &g, &s, None, None, &RmspropConfig { centered: true, ..r })), ErrorKind::Argument);
    assert_eq!(kind(rmsprop_step(&p, &g, &s, None, None, &RmspropConfig { momentum: 0.5, ..r })), ErrorKind::Argument);
    assert_eq!(kind(rmsprop_step(&p, &g, &s, Some(&s), None, &RmspropConfig { centered: true, ..r })), ErrorKind::Argument);
    assert_eq!(kind(rmsprop_step(&p, &g, &t(&[0.0; 3]), None, None, &r)), ErrorKind::Shape);
    let ad = AdagradConfig { lr: 0.1, lr_decay: 0.0, weight_decay: 0.0, eps: 1e-10, step: 1.0, maximize: false };
    for c in [
        AdagradConfig { lr: -1.0, ..ad },
        AdagradConfig { lr_decay: -1.0, ..ad },
        AdagradConfig { weight_decay: f64::INFINITY, ..ad },
        AdagradConfig { eps: -1.0, ..ad },
        AdagradConfig { step: 0.0, ..ad },
    ] {
        assert_eq!(kind(adagrad_step(&p, &g, &s, &c)), ErrorKind::Argument, "{c:?}");
    }
    assert_eq!(kind(adagrad_step(&p, &g, &p, &ad)), ErrorKind::Argument);
    assert_eq!(vals(&p), [1.0, 2.0]);
    for x in [&s, &a, &b] {
        assert_eq!(vals(x), [0.0, 0.0]);
        assert_eq!(x.storage().version(), 0);
    }
}
