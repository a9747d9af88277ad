//! Graph nodes. Each differentiable op records one [`Node`] holding its backward rule
//! (a [`Backward`] value defined next to the op's forward), edges to the nodes of its
//! inputs, and the tensors its vector-Jacobian product needs.

use super::mode::is_grad_enabled;
use crate::error::{fmt_shape, Error, Result};
use crate::layout::Dims;
use crate::tensor::Tensor;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

/// What a node needs at backward time: the saved tensors, which inputs want a gradient,
/// and the shapes the inputs had.
pub struct VjpCtx<'a> {
    pub saved: Vec<Tensor>,
    pub needs: &'a [bool],
    pub input_shapes: &'a [&'a [usize]],
}

impl VjpCtx<'_> {
    pub fn needs(&self, input: usize) -> bool {
        self.needs.get(input).copied().unwrap_or(false)
    }
    pub fn saved(&self, i: usize) -> Result<&Tensor> {
        self.saved.get(i).ok_or_else(|| Error::autograd("backward: a saved tensor is missing"))
    }
}

/// The backward half of an op. `vjp` receives the gradient of the op's output and returns
/// one gradient per input, at the output's broadcast shape if the op broadcast: the
/// engine reduces it to the input's shape once, so no rule repeats that.
pub trait Backward {
    fn name(&self) -> &'static str;
    fn vjp(&self, ctx: &VjpCtx, grad: &Tensor) -> Result<Vec<Option<Tensor>>>;
    /// False for rules computed by a kernel instead of tensor ops: under `createGraph`
    /// their results then refuse to be differentiated again (a clear error, not zeros).
    fn differentiable(&self) -> bool {
        true
    }
}

pub enum EdgeTarget {
    /// The input needs no gradient.
    None,
    /// A leaf that requires grad: its gradient is accumulated into `.grad`.
    Leaf(Tensor),
    /// An intermediate produced by another node.
    Node(Rc<Node>),
}

pub struct Edge {
    pub target: EdgeTarget,
    pub shape: Dims,
}

impl Edge {
    /// The edge to `t`, an input of the op being recorded.
    fn to(t: &Tensor) -> Edge {
        Edge {
            target: match t.grad_fn() {
                Some(node) => EdgeTarget::Node(node),
                None if t.requires_grad() => EdgeTarget::Leaf(t.clone()),
                None => EdgeTarget::None,
            },
            shape: Dims::from_slice(t.shape()),
        }
    }

    /// The edge of a constant operand (a number the op took instead of a tensor): it needs
    /// no gradient and has the shape of a 0-d tensor.
    fn constant() -> Edge {
        Edge { target: EdgeTarget::None, shape: Dims::new() }
    }
}

/// A node's edges, one per input: inline for the usual one or two inputs (no allocation
/// of their own), on the heap for more.
pub enum Edges {
    One([Edge; 1]),
    Two([Edge; 2]),
    Many(Vec<Edge>),
}

impl Edges {
    fn from_vec(mut edges: Vec<Edge>) -> Edges {
        match edges.len() {
            1 => Edges::One([edges.pop().expect("one edge")]),
            2 => {
                let b = edges.pop().expect("two edges");
                let a = edges.pop().expect("two edges");
                Edges::Two([a, b])
            }
            _ => Edges::Many(edges),
        }
    }
}

impl std::ops::Deref for Edges {
    type Target = [Edge];
    fn deref(&self) -> &[Edge] {
        match self {
            Edges::One(e) => e,
            Edges::Two(e) => e,
            Edges::Many(e) => e,
        }
    }
}

impl<'a> IntoIterator for &'a Edges {
    type Item = &'a Edge;
    type IntoIter = std::slice::Iter<'a, Edge>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::ops::DerefMut for Edges {
    fn deref_mut(&mut self) -> &mut [Edge] {
        match self {
            Edges::One(e) => e,
            Edges::Two(e) => e,
            Edges::Many(e) => e,
        }
    }
}

/// A tensor kept for backward, with the storage version at the time it was saved, so an
/// in-place change made afterwards is reported instead of producing wrong gradients.
///
/// An input is kept as itself, graph and all, so a backward run with grad mode on
/// (`createGraph`) differentiates through it. The op's own output is kept as its data plus
/// a weak link to the node: a strong one would be a reference cycle (node → output →
/// node); the link is restored on unpack for as long as the node lives.
pub struct SavedTensor {
    tensor: Tensor,
    version: u64,
    output_of: Option<Weak<Node>>,
}

impl SavedTensor {
    fn unpack(&self, op: &str) -> Result<Tensor> {
        let now = self.tensor.storage().version();
        if now != self.version {
            return Err(Error::autograd(format!(
                "backward: a tensor of shape {} needed by {op} was modified by an in-place operation \
                 (version {now}, expected {}); compute the update out of place or after backward()",
                fmt_shape(self.tensor.shape()),
                self.version
            )));
        }
        match self.output_of.as_ref().and_then(Weak::upgrade) {
            Some(node) if is_grad_enabled() => Ok(self.tensor.with_grad_fn(node)),
            _ => Ok(self.tensor.clone()),
        }
    }
}

pub struct Node {
    pub(crate) op: Box<dyn Backward>,
    pub(crate) edges: Edges,
    saved: RefCell<Vec<SavedTensor>>,
    had_saved: bool,
    released: Cell<bool>,
    /// Set while a backward pass runs through this node.
    pub(crate) busy: Cell<bool>,
    /// Host gradient hooks registered on the tensor this node produced.
    pub(crate) hooks: RefCell<Vec<u32>>,
}

impl Node {
    pub fn name(&self) -> &'static str {
        self.op.name()
    }

    /// Frees the saved tensors (after a pass that does not retain the graph).
    pub(crate) fn release_saved(&self) {
        self.saved.borrow_mut().clear();
        self.released.set(true);
    }

    /// Runs the VJP.
    pub(crate) fn apply(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        if self.released.get() && self.had_saved {
            return Err(Error::autograd(format!(
                "backward: trying to backward through the graph a second time ({} already freed its \
                 saved tensors); pass {{ retainGraph: true }} to the first backward() if you need to",
                self.name()
            )));
        }
        let saved = self.saved.borrow().iter().map(|s| s.unpack(self.name())).collect::<Result<Vec<_>>>()?;
        // The per-input tables on the stack for the usual few inputs.
        const FEW: usize = 4;
        let n = self.edges.len();
        let (mut needs_few, mut shapes_few): ([bool; FEW], [&[usize]; FEW]) = ([false; FEW], [&[]; FEW]);
        let (needs_many, shapes_many): (Vec<bool>, Vec<&[usize]>);
        let (needs, input_shapes): (&[bool], &[&[usize]]) = if n <= FEW {
            for (i, e) in self.edges.iter().enumerate() {
                needs_few[i] = !matches!(e.target, EdgeTarget::None);
                shapes_few[i] = &e.shape;
            }
            (&needs_few[..n], &shapes_few[..n])
        } else {
            needs_many = self.edges.iter().map(|e| !matches!(e.target, EdgeTarget::None)).collect();
            shapes_many = self.edges.iter().map(|e| &*e.shape).collect();
            (&needs_many, &shapes_many)
        };
        let ctx = VjpCtx { saved, needs, input_shapes };
        let mut grads = self.op.vjp(&ctx, grad)?;
        if grads.len() != self.edges.len() {
            return Err(Error::autograd(format!("backward: {} returned the wrong number of gradients", self.name())));
        }
        if !self.op.differentiable() && is_grad_enabled() {
            let depends_on: Vec<&Tensor> = std::iter::once(grad).chain(&ctx.saved).collect();
            grads = grads.into_iter().map(|g| g.map(|g| first_order_only(self.name(), g, &depends_on))).collect();
        }
        Ok(grads)
    }
}

impl Drop for Node {
    /// Long chains (a 10 000-step unrolled loop) would overflow the 1 MiB wasm stack if
    /// each node's drop dropped the next recursively; unlink them iteratively instead.
    fn drop(&mut self) {
        super::host::release(self.hooks.take());
        let mut stack: Vec<Rc<Node>> = Vec::new();
        take_child_nodes(&mut self.edges, &mut stack);
        while let Some(mut node) = stack.pop() {
            // A node held only here is freed at the end of this iteration: its children
            // are taken first, so its own drop finds none. In place when no weak link
            // (a saved output's) points at it; else moved out.
            if let Some(owned) = Rc::get_mut(&mut node) {
                take_child_nodes(&mut owned.edges, &mut stack);
            } else if let Ok(mut owned) = Rc::try_unwrap(node) {
                take_child_nodes(&mut owned.edges, &mut stack);
                super::host::release(owned.hooks.take());
            }
        }
    }
}

fn take_child_nodes(edges: &mut Edges, stack: &mut Vec<Rc<Node>>) {
    for edge in edges.iter_mut() {
        if let EdgeTarget::Node(n) = std::mem::replace(&mut edge.target, EdgeTarget::None) {
            stack.push(n);
        }
    }
}

/// Attaches a node to `out` if grad mode is on and any input requires grad; `saved` is
/// only evaluated then, so ops in inference pay nothing for it.
pub fn record(
    out: Tensor,
    inputs: &[&Tensor],
    saved: impl FnOnce() -> Vec<Tensor>,
    op: impl Backward + 'static,
) -> Tensor {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
        return out;
    }
    let edges = match inputs {
        [a] => Edges::One([Edge::to(a)]),
        [a, b] => Edges::Two([Edge::to(a), Edge::to(b)]),
        _ => Edges::from_vec(inputs.iter().map(|t| Edge::to(t)).collect()),
    };
    attach(out, edges, saved(), Box::new(op))
}

/// As [`record`] for an op of two operands of which one is a constant number rather than
/// a tensor (`x + 1`): the constant gets the edge a 0-d tensor that does not require
/// grad would have, at position `constant_at` (0 or 1), so the node is the one `record`
/// would make for `[input, 0-d constant]` (or the reverse), without the constant tensor.
/// `saved` gets the output (to save it too if the rule needs it).
pub fn record_with_constant(
    out: Tensor,
    input: &Tensor,
    constant_at: usize,
    saved: impl FnOnce(&Tensor) -> Vec<Tensor>,
    op: impl Backward + 'static,
) -> Tensor {
    if !is_grad_enabled() || !input.requires_grad() {
        return out;
    }
    let edges = if constant_at == 0 {
        Edges::Two([Edge::constant(), Edge::to(input)])
    } else {
        Edges::Two([Edge::to(input), Edge::constant()])
    };
    let saved = saved(&out);
    attach(out, edges, saved, Box::new(op))
}

/// Makes the node and hangs it on `out` (which becomes a non-leaf requiring grad).
fn attach(out: Tensor, edges: Edges, saved: Vec<Tensor>, op: Box<dyn Backward>) -> Tensor {
    let node = Rc::new_cyclic(|weak| Node {
        op,
        edges,
        had_saved: !saved.is_empty(),
        saved: RefCell::new(
            saved
                .iter()
                .map(|t| {
                    let is_output = t.same(&out);
                    SavedTensor {
                        tensor: if is_output { t.detach() } else { t.clone() },
                        version: t.storage().version(),
                        output_of: is_output.then(|| weak.clone()),
                    }
                })
                .collect(),
        ),
        released: Cell::new(false),
        busy: Cell::new(false),
        hooks: RefCell::new(Vec::new()),
    });
    out.0.requires_grad.set(true);
    *out.0.grad_fn.borrow_mut() = Some(node);
    out
}

/// As [`record`], for ops whose number of inputs the user controls (`cat`, custom
/// functions): the node's tables are reserved as one fallible allocation first, so a
/// long input list that does not fit is an out-of-memory error, not a trap.
pub fn try_record(
    name: &str,
    out: Tensor,
    inputs: &[&Tensor],
    saved: impl FnOnce() -> Vec<Tensor>,
    op: impl Backward + 'static,
) -> Result<Tensor> {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
        return Ok(out);
    }
    // Edges, their shapes, and the per-pass tables `apply` builds from them.
    let per_input = std::mem::size_of::<Edge>() + 16 * std::mem::size_of::<usize>() + 32;
    let bytes = inputs.len().saturating_mul(per_input);
    let mut probe: Vec<u8> = Vec::new();
    crate::memory::fallible(|| probe.try_reserve_exact(bytes))
        .map_err(|_| crate::memory::oom_error(name, &format!("the graph node of {} inputs", inputs.len()), bytes as u64))?;
    drop(probe);
    Ok(record(out, inputs, saved, op))
}

/// For backward rules computed by a kernel rather than by tensor ops: when the backward
/// itself is being recorded (`createGraph`), the result gets a node that refuses to be
/// differentiated, so a second derivative through `op` is a clear error rather than a
/// silent zero.
pub fn first_order_only(op: &'static str, result: Tensor, depends_on: &[&Tensor]) -> Tensor {
    record(result, depends_on, Vec::new, FirstOrderOnly(op))
}

struct FirstOrderOnly(&'static str);

impl Backward for FirstOrderOnly {
    fn name(&self) -> &'static str {
        self.0
    }
    fn vjp(&self, _: &VjpCtx, _: &Tensor) -> Result<Vec<Option<Tensor>>> {
        Err(Error::autograd(format!(
            "backward: the gradient of {} is not differentiable (no double backward yet); \
             second derivatives through this op are not supported",
            self.0
        )))
    }
}
