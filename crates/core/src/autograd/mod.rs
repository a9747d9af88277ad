//! The gradient tape: graph nodes recorded by ops, and the engine that walks them.

pub mod engine;
pub mod graph;
pub mod host;
pub mod mode;

#[cfg(test)]
mod tests;
