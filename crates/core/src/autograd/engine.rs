//! Reverse-mode passes over the graph, without recursion: `backward()` accumulates into
//! the leaves' `.grad`, `grad()` returns the gradients of chosen tensors (PyTorch's
//! `torch.autograd.grad`). With `create_graph` the pass itself is recorded, so its
//! results can be differentiated again.

use super::graph::{EdgeTarget, Node};
use super::host;
use super::mode::GradModeGuard;
use crate::error::{fmt_shape, Error, Result};
use crate::layout::broadcasts_to;
use crate::memory::{fallible_grow, fallible_grow_map, fallible_grow_set, headroom};
use crate::ops::{binary, inplace, reduce};
use crate::tensor::{Tensor, TensorInner};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

type NodeKey = *const Node;
type TensorKey = *const TensorInner;

fn key(node: &Rc<Node>) -> NodeKey {
    Rc::as_ptr(node)
}

fn tensor_key(t: &Tensor) -> TensorKey {
    Rc::as_ptr(&t.0)
}

#[derive(Clone, Copy, Default)]
pub struct PassOptions {
    /// Keep the saved tensors so the graph can be walked again.
    pub retain_graph: bool,
    /// Record the pass (grad mode on), for higher derivatives.
    pub create_graph: bool,
}

/// Computes the gradient of `root` with respect to every leaf that requires grad and
/// accumulates it into their `.grad`. `grad` defaults to 1 for single-element outputs.
/// Returns the gradient tensors that were replaced rather than updated in place (with
/// `create_graph` a leaf's new `.grad` is `old + g`, recorded), so the caller can release
/// whatever it holds of them.
pub fn backward(root: &Tensor, grad: Option<&Tensor>, options: PassOptions) -> Result<Vec<Tensor>> {
    let seed = seed_for("backward", root, grad)?;
    let _mode = GradModeGuard::new(options.create_graph);
    let mut pass = run(&[(root.clone(), seed)], None)?;
    // Everything that can fail (hooks, allocations) happens before any `.grad` changes, so
    // an error leaves the leaves' gradients and the graph as they were.
    let mut updates = Vec::new();
    fallible_grow("backward", &mut updates, pass.captured.len())?;
    // Taken, not borrowed: a gradient only this pass holds becomes `.grad` without a copy.
    for (leaf, g) in std::mem::take(&mut pass.captured) {
        let g = host::run_hooks(&leaf.leaf_hooks(), g)?;
        let update = prepare_leaf_update(&leaf, g, options.create_graph)?;
        updates.push((leaf, update));
    }
    let mut replaced = Vec::new();
    for (leaf, update) in updates {
        if let Some(old) = commit_leaf_update(&leaf, update)? {
            replaced.push(old);
        }
    }
    pass.finish(options.retain_graph);
    Ok(replaced)
}

/// The gradients of `outputs` (weighted by `grad_outputs`, ones for scalars) with respect
/// to `inputs`, which may be leaves or intermediates. Nothing is accumulated into `.grad`.
/// An input the outputs do not depend on is an error unless `allow_unused` (then `None`).
pub fn grad(
    outputs: &[Tensor],
    grad_outputs: &[Option<Tensor>],
    inputs: &[Tensor],
    options: PassOptions,
    allow_unused: bool,
) -> Result<Vec<Option<Tensor>>> {
    if outputs.is_empty() || inputs.is_empty() {
        return Err(Error::argument("grad: expected at least one output and one input"));
    }
    if grad_outputs.len() != outputs.len() {
        return Err(Error::argument(format!(
            "grad: {} gradOutputs given for {} outputs",
            grad_outputs.len(),
            outputs.len()
        )));
    }
    if let Some(i) = inputs.iter().position(|t| !t.requires_grad()) {
        return Err(Error::autograd(format!(
            "grad: input {i} (shape {}) does not require grad, so it has no gradient",
            fmt_shape(inputs[i].shape())
        )));
    }
    let roots = outputs
        .iter()
        .zip(grad_outputs)
        .map(|(o, g)| Ok((o.clone(), seed_for("grad", o, g.as_ref())?)))
        .collect::<Result<Vec<_>>>()?;
    let _mode = GradModeGuard::new(options.create_graph);
    let mut pass = run(&roots, Some(inputs))?;
    // A leaf's hooks see its gradient here too, as in PyTorch (a non-leaf's ran in `run`).
    for (t, g) in pass.captured.iter_mut() {
        if t.is_leaf() {
            *g = host::run_hooks(&t.leaf_hooks(), g.clone())?;
        }
    }
    let by_tensor: HashMap<TensorKey, &Tensor> = pass.captured.iter().map(|(t, g)| (tensor_key(t), g)).collect();
    let mut result = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        match by_tensor.get(&tensor_key(input)) {
            Some(&g) => result.push(Some(g.clone())),
            None if allow_unused => result.push(None),
            None => {
                return Err(Error::autograd(format!(
                    "grad: input {i} (shape {}) was not used to compute the outputs; pass \
                     {{ allowUnused: true }} to get null for it",
                    fmt_shape(input.shape())
                )))
            }
        }
    }
    pass.finish(options.retain_graph);
    Ok(result)
}

/// The gradient a pass starts from at `root`.
fn seed_for(op: &str, root: &Tensor, grad: Option<&Tensor>) -> Result<Tensor> {
    if !root.requires_grad() {
        return Err(Error::autograd(format!(
            "{op}: the tensor does not require grad and has no grad_fn; create its inputs with \
             requiresGrad: true (and not under noGrad)"
        )));
    }
    match grad {
        Some(g) => {
            g.expect_f32(op)?;
            if g.shape() != root.shape() {
                return Err(Error::shape(format!(
                    "{op}: gradient of shape {} does not match the output's shape {}",
                    fmt_shape(g.shape()),
                    fmt_shape(root.shape())
                )));
            }
            Ok(g.clone())
        }
        None if root.numel() == 1 => Tensor::full(op, root.shape(), 1.0, crate::storage::DType::F32),
        None => Err(Error::autograd(format!(
            "{op}: grad can be implicitly created only for scalar outputs, but the output has shape {}; \
             pass a gradient of the same shape, e.g. y.backward(onesLike(y))",
            fmt_shape(root.shape())
        ))),
    }
}

/// Sums gradients arriving at the same place, in arrival order.
#[derive(Default)]
struct Pending<K> {
    grads: HashMap<K, Tensor>,
}

impl<K: std::hash::Hash + Eq> Pending<K> {
    fn add(&mut self, k: K, g: Tensor) -> Result<()> {
        let merged = match self.grads.remove(&k) {
            Some(prev) => binary::add(&prev, &g)?,
            None => {
                fallible_grow_map("backward", &mut self.grads)?;
                g
            }
        };
        self.grads.insert(k, merged);
        Ok(())
    }
}

thread_local! {
    /// Passes running now: a hook or custom backward may start another pass, but not
    /// endlessly (each level costs stack).
    static PASS_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Nested passes allowed (hooks that run backward on another graph, as checkpointing does).
const MAX_PASS_DEPTH: usize = 16;

/// A pass in progress: the gradients it captured, and the nodes it ran, which stay marked
/// as busy (so a hook cannot start a pass through them again) and keep their saved
/// tensors until [`Pass::finish`], so a pass that fails leaves the graph usable.
struct Pass {
    captured: Vec<(Tensor, Tensor)>,
    nodes: Vec<Rc<Node>>,
}

impl Pass {
    /// Frees the saved tensors of the nodes that ran, unless the graph is retained.
    fn finish(self, retain_graph: bool) {
        if !retain_graph {
            for node in &self.nodes {
                node.release_saved();
            }
        }
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        for node in &self.nodes {
            node.busy.set(false);
        }
        PASS_DEPTH.with(|d| d.set(d.get() - 1));
    }
}

/// Walks the graph from `roots` (each with its seed gradient). Without `targets`, every
/// node runs and the result is each reached leaf with its summed gradient. With targets,
/// only nodes leading to one run, and the result holds each reached target's gradient.
fn run(roots: &[(Tensor, Tensor)], targets: Option<&[Tensor]>) -> Result<Pass> {
    if PASS_DEPTH.with(Cell::get) >= MAX_PASS_DEPTH {
        return Err(Error::autograd(format!(
            "backward: {MAX_PASS_DEPTH} backward passes are nested (a hook or custom backward that calls backward() \
             on its own graph?)"
        )));
    }
    let order = topological_order(&roots.iter().filter_map(|(r, _)| r.grad_fn()).collect::<Vec<_>>())?;
    if let Some(node) = order.iter().find(|n| n.busy.get()) {
        return Err(Error::autograd(format!(
            "backward: the graph through {} is already being differentiated; a hook or custom backward \
             cannot run backward() or grad() through the graph that is calling it",
            node.name()
        )));
    }
    PASS_DEPTH.with(|d| d.set(d.get() + 1));
    let mut pass = Pass { captured: Vec::new(), nodes: Vec::new() };
    fallible_grow("backward", &mut pass.nodes, order.len())?;
    for node in &order {
        node.busy.set(true);
        pass.nodes.push(node.clone());
    }

    let mut node_grads: Pending<NodeKey> = Pending::default();
    let mut leaf_grads: Pending<TensorKey> = Pending::default();
    let mut leaves: Vec<Tensor> = Vec::new();
    let target_leaves: Option<HashSet<TensorKey>> = targets.map(|ts| ts.iter().filter(|t| t.is_leaf()).map(tensor_key).collect());
    let is_leaf_target = |t: &Tensor| target_leaves.as_ref().map_or(true, |keys| keys.contains(&tensor_key(t)));
    for (root, seed) in roots {
        match root.grad_fn() {
            Some(node) => node_grads.add(key(&node), seed.clone())?,
            None if is_leaf_target(root) => {
                if !leaf_grads.grads.contains_key(&tensor_key(root)) {
                    leaves.push(root.clone());
                }
                leaf_grads.add(tensor_key(root), seed.clone())?;
            }
            None => {}
        }
    }
    let target_nodes: HashMap<NodeKey, Tensor> = targets
        .unwrap_or(&[])
        .iter()
        .filter_map(|t| t.grad_fn().map(|n| (key(&n), t.clone())))
        .collect();
    let needed = match targets {
        Some(_) => Some(nodes_leading_to_targets(&order, &target_nodes, &is_leaf_target)?),
        None => None,
    };

    for node in &order {
        let k = key(node);
        let Some(mut g) = node_grads.grads.remove(&k) else { continue };
        headroom("backward")?;
        let hooks = node.hooks.borrow().clone();
        if !hooks.is_empty() {
            g = host::run_hooks(&hooks, g)?;
        }
        if let Some(t) = target_nodes.get(&k) {
            fallible_grow("backward", &mut pass.captured, 1)?;
            pass.captured.push((t.clone(), g.clone()));
        }
        if needed.as_ref().is_some_and(|n| !n.contains(&k)) {
            continue;
        }
        let input_grads = node.apply(&g)?;
        drop(g);
        for (edge, g) in node.edges.iter().zip(input_grads) {
            let Some(g) = g else { continue };
            if let EdgeTarget::None = edge.target {
                // Nobody receives it: checked as any gradient is, but not summed to shape.
                check_fits_input(node, &edge.shape, &g)?;
                continue;
            }
            let g = fit_to_input(node, &edge.shape, g)?;
            match &edge.target {
                EdgeTarget::None => {}
                EdgeTarget::Leaf(leaf) if is_leaf_target(leaf) => {
                    if !leaf_grads.grads.contains_key(&tensor_key(leaf)) {
                        fallible_grow("backward", &mut leaves, 1)?;
                        leaves.push(leaf.clone());
                    }
                    leaf_grads.add(tensor_key(leaf), g)?;
                }
                EdgeTarget::Leaf(_) => {}
                EdgeTarget::Node(child) => node_grads.add(key(child), g)?,
            }
        }
    }
    fallible_grow("backward", &mut pass.captured, leaves.len())?;
    for leaf in leaves {
        if let Some(g) = leaf_grads.grads.remove(&tensor_key(&leaf)) {
            pass.captured.push((leaf, g));
        }
    }
    Ok(pass)
}

/// A node's gradient for one input, checked against the input: a float32 tensor of its
/// shape, or of a shape the input broadcasts to (the broadcast is summed back here, once,
/// for every op). Anything else is a bug in a backward rule (a custom function's, say),
/// reported rather than reshaped into place.
fn fit_to_input(node: &Node, shape: &[usize], g: Tensor) -> Result<Tensor> {
    check_fits_input(node, shape, &g)?;
    if g.shape() == shape {
        return Ok(g);
    }
    reduce::sum_to_shape(&g, shape)
}

/// The checks of [`fit_to_input`] alone: `g` is float32, of `shape` or broadcast from it.
fn check_fits_input(node: &Node, shape: &[usize], g: &Tensor) -> Result<()> {
    g.expect_f32("backward")?;
    if g.shape() == shape || broadcasts_to(shape, g.shape()) {
        return Ok(());
    }
    Err(Error::shape(format!(
        "backward: {} returned a gradient of shape {} for an input of shape {}",
        node.name(),
        fmt_shape(g.shape()),
        fmt_shape(shape)
    )))
}

/// The nodes reachable from `roots`, each after every node that feeds it a gradient
/// (Kahn's algorithm over dependency counts; iterative, as the wasm stack is small).
fn topological_order(roots: &[Rc<Node>]) -> Result<Vec<Rc<Node>>> {
    let mut deps: HashMap<NodeKey, usize> = HashMap::new();
    let mut stack: Vec<Rc<Node>> = Vec::new();
    let mut seen: HashSet<NodeKey> = HashSet::new();
    let mut unique_roots: Vec<Rc<Node>> = Vec::new();
    for root in roots {
        fallible_grow_set("backward", &mut seen)?;
        if seen.insert(key(root)) {
            unique_roots.push(root.clone());
            stack.push(root.clone());
        }
    }
    while let Some(node) = stack.pop() {
        for edge in &node.edges {
            if let EdgeTarget::Node(child) = &edge.target {
                fallible_grow_map("backward", &mut deps)?;
                *deps.entry(key(child)).or_insert(0) += 1;
                fallible_grow_set("backward", &mut seen)?;
                if seen.insert(key(child)) {
                    fallible_grow("backward", &mut stack, 1)?;
                    stack.push(child.clone());
                }
            }
        }
    }
    let mut ready: Vec<Rc<Node>> = unique_roots.into_iter().filter(|n| !deps.contains_key(&key(n))).collect();
    let mut order = Vec::new();
    fallible_grow("backward", &mut order, seen.len())?;
    fallible_grow("backward", &mut ready, seen.len())?;
    while let Some(node) = ready.pop() {
        for edge in &node.edges {
            if let EdgeTarget::Node(child) = &edge.target {
                let left = deps.get_mut(&key(child)).expect("counted above");
                *left -= 1;
                if *left == 0 {
                    ready.push(child.clone());
                }
            }
        }
        order.push(node);
    }
    Ok(order)
}

/// Nodes whose backward contributes to a target (visited inputs-first, so each node's
/// children are decided before it).
fn nodes_leading_to_targets(
    order: &[Rc<Node>],
    target_nodes: &HashMap<NodeKey, Tensor>,
    is_leaf_target: &dyn Fn(&Tensor) -> bool,
) -> Result<HashSet<NodeKey>> {
    let mut needed = HashSet::new();
    for node in order.iter().rev() {
        let leads = node.edges.iter().any(|e| match &e.target {
            EdgeTarget::None => false,
            EdgeTarget::Leaf(t) => is_leaf_target(t),
            EdgeTarget::Node(c) => needed.contains(&key(c)) || target_nodes.contains_key(&key(c)),
        });
        if leads {
            fallible_grow_set("grad", &mut needed)?;
            needed.insert(key(node));
        }
    }
    Ok(needed)
}

/// How a leaf's `.grad` changes, prepared (all allocation done) before anything changes.
enum LeafUpdate {
    /// Add in place into the existing gradient (so a handle to it stays valid).
    AddInPlace(Tensor, Tensor),
    /// Replace `.grad` (with `replaced`, the old gradient, to hand back).
    Set(Tensor, Option<Tensor>),
}

/// Without `recorded`: in place when a gradient exists, else stores it, copying unless
/// `grad` is a fresh buffer nobody else holds. With `recorded` (`create_graph`), `.grad`
/// becomes the recorded `old + grad` and the old tensor is returned.
fn prepare_leaf_update(leaf: &Tensor, grad: Tensor, recorded: bool) -> Result<LeafUpdate> {
    let exclusive = Rc::strong_count(&grad.0) == 1
        && Rc::strong_count(grad.storage()) == 1
        && grad.layout().is_contiguous()
        && grad.layout().offset == 0;
    Ok(match leaf.grad() {
        Some(existing) if recorded => LeafUpdate::Set(binary::add(&existing, &grad)?, Some(existing)),
        Some(existing) => LeafUpdate::AddInPlace(existing, grad),
        None if recorded => LeafUpdate::Set(if exclusive { grad } else { grad.alias() }, None),
        None => LeafUpdate::Set(if exclusive { grad } else { grad.contiguous_copy("backward")? }, None),
    })
}

fn commit_leaf_update(leaf: &Tensor, update: LeafUpdate) -> Result<Option<Tensor>> {
    match update {
        LeafUpdate::AddInPlace(existing, grad) => inplace::apply("add_", inplace::InplaceOp::Add, &existing, &grad).map(|()| None),
        LeafUpdate::Set(new, replaced) => leaf.set_grad(Some(new)).map(|()| replaced),
    }
}
