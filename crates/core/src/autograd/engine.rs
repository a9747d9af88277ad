//! `backward()`: walks the graph from an output in dependency order, without recursion.

use super::graph::{EdgeTarget, Node};
use super::mode::NoGradGuard;
use crate::error::{fmt_shape, Error, Result};
use crate::ops::{binary, inplace, reduce};
use crate::tensor::Tensor;
use std::collections::HashMap;
use std::rc::Rc;

type NodeKey = *const Node;

fn key(node: &Rc<Node>) -> NodeKey {
    Rc::as_ptr(node)
}

/// Computes the gradient of `root` with respect to every leaf that requires grad and
/// accumulates it into their `.grad`. `grad` defaults to 1 for single-element outputs.
pub fn backward(root: &Tensor, grad: Option<&Tensor>, retain_graph: bool) -> Result<()> {
    if !root.requires_grad() {
        return Err(Error::autograd(
            "backward: the tensor does not require grad and has no grad_fn; create its inputs with \
             requiresGrad: true (and not under noGrad)",
        ));
    }
    let _guard = NoGradGuard::new();
    let seed = match grad {
        Some(g) => {
            g.expect_f32("backward")?;
            if g.shape() != root.shape() {
                return Err(Error::shape(format!(
                    "backward: gradient of shape {} does not match the output's shape {}",
                    fmt_shape(g.shape()),
                    fmt_shape(root.shape())
                )));
            }
            g.clone()
        }
        None if root.numel() == 1 => Tensor::full("backward", root.shape(), 1.0, crate::storage::DType::F32)?,
        None => {
            return Err(Error::autograd(format!(
                "backward: grad can be implicitly created only for scalar outputs, but the output has shape {}; \
                 pass a gradient of the same shape, e.g. y.backward(onesLike(y))",
                fmt_shape(root.shape())
            )))
        }
    };
    let Some(root_node) = root.grad_fn() else {
        return accumulate_into_leaf(root, seed);
    };

    let dependencies = count_dependencies(&root_node);
    let mut pending: HashMap<NodeKey, Tensor> = HashMap::new();
    let mut remaining = dependencies;
    pending.insert(key(&root_node), seed);
    let mut ready = vec![root_node];

    while let Some(node) = ready.pop() {
        let input_grads = match pending.remove(&key(&node)) {
            Some(g) => node.apply(&g, !retain_graph)?,
            None => vec![None; node.edges.len()],
        };
        for (edge, g) in node.edges.iter().zip(input_grads) {
            let g = match g {
                Some(g) if g.shape() != edge.shape.as_slice() => Some(reduce::sum_to_shape(&g, &edge.shape)?),
                other => other,
            };
            match &edge.target {
                EdgeTarget::None => {}
                EdgeTarget::Leaf(leaf) => {
                    if let Some(g) = g {
                        accumulate_into_leaf(leaf, g)?;
                    }
                }
                EdgeTarget::Node(child) => {
                    let k = key(child);
                    if let Some(g) = g {
                        let merged = match pending.remove(&k) {
                            Some(prev) => binary::add(&prev, &g)?,
                            None => g,
                        };
                        pending.insert(k, merged);
                    }
                    let left = remaining.entry(k).or_insert(1);
                    *left -= 1;
                    if *left == 0 {
                        ready.push(child.clone());
                    }
                }
            }
        }
    }
    Ok(())
}

/// How many edges point at each node reachable from `root` (iterative DFS).
fn count_dependencies(root: &Rc<Node>) -> HashMap<NodeKey, usize> {
    let mut deps: HashMap<NodeKey, usize> = HashMap::new();
    let mut stack = vec![root.clone()];
    let mut seen = std::collections::HashSet::new();
    seen.insert(key(root));
    while let Some(node) = stack.pop() {
        for edge in &node.edges {
            if let EdgeTarget::Node(child) = &edge.target {
                *deps.entry(key(child)).or_insert(0) += 1;
                if seen.insert(key(child)) {
                    stack.push(child.clone());
                }
            }
        }
    }
    deps
}

/// Adds `grad` into a leaf's `.grad`: in place when a gradient exists (so a handle to it
/// stays valid), else stores it, copying unless `grad` is a fresh buffer nobody else holds.
fn accumulate_into_leaf(leaf: &Tensor, grad: Tensor) -> Result<()> {
    match leaf.grad() {
        Some(existing) => inplace::apply(inplace::InplaceOp::Add, &existing, &grad),
        None => {
            let exclusive = Rc::strong_count(&grad.0) == 1
                && Rc::strong_count(grad.storage()) == 1
                && grad.layout().is_contiguous()
                && grad.layout().offset == 0;
            let owned = if exclusive { grad } else { grad.contiguous_copy("backward")? };
            leaf.set_grad(Some(owned))
        }
    }
}
