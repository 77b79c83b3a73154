//! A dense layer `y = x Wᵀ + b` on `(n, in)` inputs, with PyTorch's weight layout `(out, in)`.

use candle_core::{Result, Tensor};

#[derive(Clone)]
pub struct Linear {
    pub weight: Tensor, // (out, in)
    pub bias: Tensor,   // (out,)
}

impl Linear {
    /// `x`: (n, in) → (n, out).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}
