//! Training data: token sequences with per-token labels and domain ids, and their batching.

pub mod batch;
pub mod files;
pub mod synthetic;
pub mod tokenize;

/// Label value of a position that has none (padding), as in the seed's data.
pub const IGNORE_LABEL: f32 = -100.0;
/// Domain id of a position that must not count in the loss.
pub const MASKED_DOMAIN: i32 = -1;
/// Token id used for padding.
pub const PAD_ID: u32 = 0;

/// One example: a token sequence and, per token, a label in [0, 1] (or -100) and a domain id
/// (-1 = excluded from the loss).
#[derive(Debug, Clone, PartialEq)]
pub struct Sequence {
    pub tokens: Vec<u32>,
    pub labels: Vec<f32>,
    pub domains: Vec<i32>,
}
