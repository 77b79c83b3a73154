//! The seed's regression head: activated Linear layers (ReLU in the seed; leaky ReLU, GELU or
//! ELU as remedies), then Linear(→1) and a sigmoid, one prediction per token. Keeps each hidden
//! layer's output as a tap for the statistics.

use candle_core::{Device, Result, Tensor};
use candle_nn::ops::{leaky_relu, sigmoid};
use rand_chacha::ChaCha8Rng;

use super::init;
use super::linear::Linear;
use super::params::ParamStore;
use crate::config::resolved::{Activation, ModelConfig};

pub struct Head {
    hidden: Vec<Linear>,
    out: Linear,
    activation: Activation,
    leaky_slope: f64,
}

/// `act(x)` for the head's hidden layers; every branch is differentiable.
pub fn activate(x: &Tensor, activation: Activation, leaky_slope: f64) -> Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::LeakyRelu => leaky_relu(x, leaky_slope),
        Activation::Gelu => super::fused::gelu_erf(x), // bitwise equal to `x.gelu_erf()`
        Activation::Elu => x.elu(1.0),
    }
}

/// What one head pass produces, for `n` tokens.
pub struct HeadOutput {
    /// Output of each hidden layer's ReLU, (n, width), named `head_0`, `head_1`, …
    pub taps: Vec<Tensor>,
    /// Pre-sigmoid values, (n,).
    pub logits: Tensor,
    /// Predictions `sigmoid(logits)`, (n,).
    pub preds: Tensor,
}

impl Head {
    /// Layers `input → sizes[0] → … → sizes[last] → 1`, PyTorch `nn.Linear` default init with
    /// its bound scaled by `init_scale`. Parameters are named `head.{i}.weight` /
    /// `head.{i}.bias`, group `head_{i}`.
    pub fn new(m: &ModelConfig, ps: &mut ParamStore, rng: &mut ChaCha8Rng, dev: &Device) -> Result<Head> {
        let (input, sizes) = (m.hidden_size, &m.head_sizes);
        let mut dims = vec![input];
        dims.extend_from_slice(sizes);
        dims.push(1);
        let mut layers = Vec::with_capacity(dims.len() - 1);
        for (i, w) in dims.windows(2).enumerate() {
            let bound = m.head_init_scale / (w[0] as f64).sqrt();
            let group = format!("head_{i}");
            layers.push(Linear {
                weight: ps.add(&format!("head.{i}.weight"), &group, init::uniform(rng, &[w[1], w[0]], bound, dev)?)?,
                bias: ps.add(&format!("head.{i}.bias"), &group, init::uniform(rng, &[w[1]], bound, dev)?)?,
            });
        }
        let out = layers.pop().expect("head has an output layer");
        Ok(Head { hidden: layers, out, activation: m.head_activation, leaky_slope: m.leaky_slope.unwrap_or(0.0) })
    }

    /// Number of hidden (ReLU) layers, i.e. of taps.
    pub fn hidden_layers(&self) -> usize {
        self.hidden.len()
    }

    /// The final layer's bias (a 1-element tensor): with every hidden unit dead the prediction
    /// is exactly `sigmoid(out_bias)`.
    pub fn out_bias(&self) -> &Tensor {
        &self.out.bias
    }

    /// `x`: (n, input) → taps, logits and predictions for the n tokens.
    pub fn forward(&self, x: &Tensor) -> Result<HeadOutput> {
        let mut taps = Vec::with_capacity(self.hidden.len());
        let mut h = x.clone();
        for layer in &self.hidden {
            h = activate(&layer.forward(&h)?, self.activation, self.leaky_slope)?;
            taps.push(h.clone());
        }
        let logits = self.out.forward(&h)?.flatten_all()?;
        let preds = sigmoid(&logits)?;
        Ok(HeadOutput { taps, logits, preds })
    }
}
