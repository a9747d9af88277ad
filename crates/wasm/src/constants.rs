//! Every number TS must agree on with the core, published once (`wg_constants`) as
//! `name=value` pairs, so none is copied by hand: dtype and error codes, pass flags, the
//! bits of `wg_info`, the absent-handle result, and the boundary's limits. Op ids and the
//! choices an op takes by name (reductions, activations) come with the catalog instead.

use crate::allocator::RESERVE_BYTES;
use crate::decode::{ABSENT_LIST, OPERAND_NUMBER, OPERAND_TENSOR};
use crate::autograd::{ALLOW_UNUSED, CREATE_GRAPH, MAX_LIST, MAX_TEXT_IN, RETAIN_GRAPH};
use crate::{ABSENT, FSCRATCH_WORDS, SCRATCH_WORDS};
use wasmgrad_core::layout::MAX_RANK;
use crate::registry::MAX_LIVE;
use wasmgrad_core::{DType, ErrorKind};

pub const INFO_DTYPE_MASK: i32 = 3;
pub const INFO_REQUIRES_GRAD: i32 = 1 << 2;
pub const INFO_IS_LEAF: i32 = 1 << 3;
pub const INFO_HAS_GRAD: i32 = 1 << 4;

pub fn text() -> String {
    let dtypes = [DType::F32, DType::I32, DType::Bool];
    let errors = [
        ("shape", ErrorKind::Shape),
        ("disposed", ErrorKind::Disposed),
        ("dtype", ErrorKind::DType),
        ("autograd", ErrorKind::Autograd),
        ("outOfMemory", ErrorKind::OutOfMemory),
        ("argument", ErrorKind::Argument),
    ];
    let mut pairs: Vec<(String, f64)> = Vec::new();
    pairs.extend(dtypes.iter().map(|d| (format!("dtype.{}", d.name()), *d as u32 as f64)));
    pairs.extend(errors.iter().map(|(n, k)| (format!("error.{n}"), *k as u32 as f64)));
    let fixed: [(&str, f64); 14] = [
        ("pass.retainGraph", RETAIN_GRAPH as f64),
        ("pass.createGraph", CREATE_GRAPH as f64),
        ("pass.allowUnused", ALLOW_UNUSED as f64),
        ("info.dtypeMask", INFO_DTYPE_MASK as f64),
        ("info.requiresGrad", INFO_REQUIRES_GRAD as f64),
        ("info.isLeaf", INFO_IS_LEAF as f64),
        ("info.hasGrad", INFO_HAS_GRAD as f64),
        ("handle.absent", ABSENT),
        ("limit.scratchWords", SCRATCH_WORDS as f64),
        ("limit.fscratchWords", FSCRATCH_WORDS as f64),
        ("limit.list", MAX_LIST as f64),
        ("limit.textIn", MAX_TEXT_IN as f64),
        ("limit.maxRank", MAX_RANK as f64),
        ("limit.liveTensors", MAX_LIVE as f64),
    ];
    pairs.extend(fixed.iter().map(|(n, v)| (n.to_string(), *v)));
    pairs.push(("memory.reserve".to_string(), RESERVE_BYTES as f64));
    pairs.push(("wire.operandTensor".to_string(), OPERAND_TENSOR as f64));
    pairs.push(("wire.operandNumber".to_string(), OPERAND_NUMBER as f64));
    pairs.push(("wire.absentList".to_string(), ABSENT_LIST as f64));
    // Which build this is, so a binary passed to `init({ wasm })` says what it needs.
    pairs.push(("build.relaxedSimd".to_string(), cfg!(target_feature = "relaxed-simd") as u8 as f64));
    // The threads build (shared memory, a worker pool): how many workers it can run, else 0.
    #[cfg(target_feature = "atomics")]
    let max_workers = crate::threads::MAX_WORKERS;
    #[cfg(not(target_feature = "atomics"))]
    let max_workers = 0;
    pairs.push(("build.maxWorkers".to_string(), max_workers as f64));
    pairs.iter().map(|(n, v)| format!("{n}={}", wasmgrad_core::error::fmt_number(*v))).collect::<Vec<_>>().join(";")
}
