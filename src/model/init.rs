//! Seeded initialisation. candle's CPU device cannot be seeded (`Device::set_seed` fails) and
//! `VarMap` init draws from an unseeded RNG, so every initial value comes from our own RNG.

use candle_core::{Device, Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `N(0, std²)` entries, like HF BERT's `_init_weights` for Linear and Embedding weights.
pub fn normal(rng: &mut ChaCha8Rng, shape: &[usize], std: f64, dev: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let dist = Normal::new(0.0f32, std as f32).map_err(candle_core::Error::wrap)?;
    let v: Vec<f32> = (0..n).map(|_| dist.sample(rng)).collect();
    Tensor::from_vec(v, shape, dev)
}

/// `U(−bound, bound)` entries: PyTorch's `nn.Linear` default has bound = 1/√fan_in for both
/// weight (kaiming_uniform with a = √5) and bias.
pub fn uniform(rng: &mut ChaCha8Rng, shape: &[usize], bound: f64, dev: &Device) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let b = bound as f32;
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-b..=b)).collect();
    Tensor::from_vec(v, shape, dev)
}

pub fn zeros(shape: &[usize], dev: &Device) -> Result<Tensor> {
    Tensor::zeros(shape, candle_core::DType::F32, dev)
}

pub fn ones(shape: &[usize], dev: &Device) -> Result<Tensor> {
    Tensor::ones(shape, candle_core::DType::F32, dev)
}
