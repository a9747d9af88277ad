//! The op table. Each family file holds its ops' forward, shape rule and backward side by
//! side; this module lists the families so the boundary can address ops by numeric id.

pub mod binary;
pub mod conv;
pub mod creation;
pub mod inplace;
pub mod join;
pub mod logical;
pub mod matmul;
pub mod movement;
pub mod nn;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod scan;
pub mod scatter;
pub mod select;
pub mod unary;

/// Op ids by family, as `family:name,name;family:…`. The TS layer reads this once at load
/// and calls ops by id, so a name never crosses the boundary per call and an op's id is
/// defined in exactly one place (its table position).
pub fn catalog() -> String {
    let families: &[(&str, Vec<&str>)] = &[
        // The parameterised unary ops (clamp) follow the plain ones, as matmul the binary table.
        ("unary", unary::UNARY.iter().map(|d| d.name).chain(unary::UNARY_SCALAR.iter().map(|d| d.name)).collect()),
        ("binary", binary::BINARY.iter().map(|d| d.name).chain(["matmul"]).collect()),
        ("reduce", reduce::REDUCE.iter().map(|d| d.name).collect()),
        ("movement", movement::MOVEMENT.iter().map(|d| d.name).collect()),
        ("create", creation::CREATION_NAMES.to_vec()),
        ("inplace", inplace::INPLACE.iter().map(|&(n, _)| n).collect()),
        ("nn", nn::NN_NAMES.to_vec()),
        ("optim", optim::OPTIM.iter().map(|&(n, _)| n).collect()),
    ];
    families.iter().map(|(f, names)| format!("{f}:{}", names.join(","))).collect::<Vec<_>>().join(";")
}

/// Binary-signature ops: the elementwise table, then matmul.
pub fn binary_by_id(id: u32, a: &crate::Tensor, b: &crate::Tensor) -> crate::Result<crate::Tensor> {
    if id as usize == binary::BINARY.len() {
        matmul::matmul(a, b)
    } else {
        binary::binary_by_id(id, a, b)
    }
}

/// The user-facing name of an op, for error messages ("add: the tensor was disposed").
pub fn op_name(family: &str, id: u32) -> &'static str {
    let i = id as usize;
    let name = match family {
        "unary" => unary::UNARY.get(i).map(|d| d.name).or_else(|| unary::unary_scalar_def(id).map(|d| d.name)),
        "binary" if i == binary::BINARY.len() => Some("matmul"),
        "binary" => binary::BINARY.get(i).map(|d| d.name),
        "reduce" => reduce::REDUCE.get(i).map(|d| d.name),
        "movement" => movement::MOVEMENT.get(i).map(|d| d.name),
        "create" => creation::CREATION_NAMES.get(i).copied(),
        "inplace" => inplace::INPLACE.get(i).map(|&(n, _)| n),
        "nn" => nn::NN_NAMES.get(i).copied(),
        "optim" => optim::OPTIM.get(i).map(|&(n, _)| n),
        _ => None,
    };
    name.unwrap_or("op")
}
