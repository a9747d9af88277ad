//! The op table. Every op the boundary calls by id is declared once, in its family's file:
//! the elementwise tables (`unary.rs`, `binary.rs`), whose rows share one call signature,
//! and the [`schema::OpDef`] tables of every other family (name, backward name, argument
//! schema, forward and backward side by side). This module lists the families, so that an
//! op's id is its position and the catalog the TS layer reads is derived from the tables.

pub mod binary;
pub mod conv;
pub mod creation;
pub mod indexing;
pub mod inplace;
pub mod join;
pub mod linalg;
pub mod logical;
pub mod movement;
pub mod nn;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod scan;
pub mod scatter;
pub mod schema;
pub mod unary;

use schema::OpDef;

/// The declared families, by meaning; an op's id is its position in their concatenation.
pub static FAMILIES: &[(&str, &[OpDef])] = &[
    ("elementwise", unary::OPS),
    ("reduce", reduce::OPS),
    ("movement", movement::OPS),
    ("indexing", indexing::OPS),
    ("scan", scan::OPS),
    ("linalg", linalg::OPS),
    ("nn", nn::OPS),
    ("conv", conv::OPS),
    ("pool", pool::OPS),
    ("creation", creation::OPS),
    ("inplace", inplace::OPS),
    ("optim", optim::OPS),
];

/// The declared op with id `id`.
pub fn op_def(id: u32) -> Option<&'static OpDef> {
    let mut i = id as usize;
    for &(_, ops) in FAMILIES {
        if i < ops.len() {
            return Some(&ops[i]);
        }
        i -= ops.len();
    }
    None
}

/// The catalog as JSON: the elementwise tables' names (ids by position, for `wg_unary` and
/// `wg_binary`) and every declared op with its schema (ids by position, for `wg_op` and
/// `wg_update`). The TS layer reads it once at load.
pub fn catalog() -> String {
    let names = |v: Vec<&str>| v.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(",");
    let unary = names(unary::UNARY.iter().map(|d| d.name).collect());
    let binary = names(binary::BINARY.iter().map(|d| d.name).collect());
    let ops: Vec<String> = FAMILIES.iter().flat_map(|&(family, ops)| ops.iter().map(move |d| d.to_json(family))).collect();
    format!("{{\"unary\":[{unary}],\"binary\":[{binary}],\"ops\":[{}]}}", ops.join(","))
}

/// The user-facing name of an elementwise op, for error messages ("add: the tensor was disposed").
pub fn elementwise_name(binary: bool, id: u32) -> &'static str {
    let name = if binary { binary::BINARY.get(id as usize).map(|d| d.name) } else { unary::UNARY.get(id as usize).map(|d| d.name) };
    name.unwrap_or("op")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names are unique across families (TS looks ops up by name) and each choice list is
    /// non-empty, so the catalog is unambiguous.
    #[test]
    fn declarations_are_unambiguous() {
        let mut seen = std::collections::HashSet::new();
        for d in unary::UNARY.iter().map(|d| d.name).chain(binary::BINARY.iter().map(|d| d.name)) {
            assert!(seen.insert(d), "{d} is declared twice");
        }
        for &(_, ops) in FAMILIES {
            for d in ops {
                assert!(seen.insert(d.name), "{} is declared twice", d.name);
                for a in d.args {
                    if let schema::Kind::Choice(c) = a.kind {
                        assert!(!c.is_empty(), "{}: {} has no choices", d.name, a.name);
                    }
                }
            }
        }
        assert_eq!(nn::REDUCTION_NAMES.len(), nn::Reduction::ALL.len());
        assert_eq!(nn::ACTIVATION_NAMES.len(), nn::Activation::ALL.len());
        for (i, name) in schema::DTYPES.iter().enumerate() {
            assert_eq!(crate::DType::from_code(i as u32).unwrap().name(), *name);
        }
    }
}
