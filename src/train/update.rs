//! One parameter's optimizer update on the CPU, in place in its own memory: the step Δθ from
//! the gradient (SGD with momentum and weight decay, or AdamW), θ ← θ + Δθ, the state buffers,
//! and ‖Δθ‖² for the statistics. The same f32 arithmetic as the tensor version in `optim.rs`
//! (used on other devices), without its dozen allocating ops per tensor.

use std::cell::{Cell, RefCell};

use candle_core::{CpuStorage, InplaceOp2, Layout, Result};

/// The update rule with its constants for this step (all as the tensor version rounds them).
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    Sgd {
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    },
    /// `inv_c1 = 1 / (1 − β1^t)`, `inv_c2 = 1 / (1 − β2^t)`: the bias corrections of step t
    /// (candle divides a tensor by a scalar as a product with its reciprocal).
    /// `one_b1 = 1 − β1` and `one_b2 = 1 − β2`, `decay = −lr·wd`, each rounded from f64.
    Adamw {
        lr: f32,
        beta1: f32,
        beta2: f32,
        one_b1: f32,
        one_b2: f32,
        eps: f32,
        decay: f32,
        inv_c1: f32,
        inv_c2: f32,
    },
}

/// Applied with `theta.inplace_op2(grad, &update)`.
pub struct HostUpdate<'a> {
    pub rule: Rule,
    /// Gradient multiplier from clipping (None: 1).
    pub scale: Option<f32>,
    /// Momentum buffer (SGD) or first moment (AdamW); empty before the first step.
    pub m: RefCell<&'a mut Vec<f32>>,
    /// Second moment (AdamW); empty before the first step.
    pub v: RefCell<&'a mut Vec<f32>>,
    /// Scratch for Δθ, reused across parameters and steps.
    pub delta: RefCell<&'a mut Vec<f32>>,
    /// Measure ‖Δθ‖² (else it stays 0).
    pub measure: bool,
    /// ‖Δθ‖², accumulated in f64.
    pub delta_sq: Cell<f64>,
}

impl InplaceOp2 for HostUpdate<'_> {
    fn name(&self) -> &'static str {
        "host-update"
    }

    fn cpu_fwd(&self, s1: &mut CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<()> {
        let g = crate::model::fused::cpu_slice(s2, l2, "optimizer update (gradient)")?;
        let (a, b) = l1.contiguous_offsets().ok_or_else(|| candle_core::Error::Msg("θ not contiguous".into()))?;
        let CpuStorage::F32(theta) = s1 else { candle_core::bail!("optimizer update: θ must be f32") };
        let theta = &mut theta[a..b];
        if theta.len() != g.len() {
            candle_core::bail!("optimizer update: θ has {} values, its gradient {}", theta.len(), g.len());
        }
        let (mut m, mut v, mut delta) = (self.m.borrow_mut(), self.v.borrow_mut(), self.delta.borrow_mut());
        let first = m.is_empty();
        delta.clear();
        delta.extend(g.iter().map(|&g| if let Some(s) = self.scale { g * s } else { g }));
        // Δθ in place of the (scaled) gradient: loops without reductions, so they vectorise.
        match self.rule {
            Rule::Sgd { lr, momentum, weight_decay } => {
                if weight_decay > 0.0 {
                    delta.iter_mut().zip(theta.iter()).for_each(|(d, &t)| *d += t * weight_decay);
                }
                if momentum > 0.0 {
                    // torch: buf = μ·buf + g (buf = g on the first step), then d = buf.
                    if first {
                        m.extend_from_slice(&delta);
                    } else {
                        m.iter_mut().zip(delta.iter_mut()).for_each(|(m, d)| {
                            *m = *m * momentum + *d;
                            *d = *m;
                        });
                    }
                }
                delta.iter_mut().for_each(|d| *d *= -lr);
            }
            Rule::Adamw { lr, beta1, beta2, one_b1, one_b2, eps, decay, inv_c1, inv_c2 } => {
                if first {
                    m.resize(theta.len(), 0.0);
                    v.resize(theta.len(), 0.0);
                }
                let moments = m.iter_mut().zip(v.iter_mut());
                for ((d, &t), (m, v)) in delta.iter_mut().zip(theta.iter()).zip(moments) {
                    let g = *d;
                    *m = if first { g * one_b1 } else { *m * beta1 + g * one_b1 };
                    *v = if first { g * g * one_b2 } else { *v * beta2 + g * g * one_b2 };
                    let adam = (*m * inv_c1) / ((*v * inv_c2).sqrt() + eps);
                    // Decoupled decay: θ ← θ − lr·wd·θ − lr·adam.
                    *d = t * decay - adam * lr;
                }
            }
        }
        if self.measure {
            self.delta_sq.set(sum_sq(&delta));
        }
        theta.iter_mut().zip(delta.iter()).for_each(|(t, d)| *t += d);
        Ok(())
    }
}

/// Σx², in f64, over 8 independent lanes so that it vectorises.
pub fn sum_sq(x: &[f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = x.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|&v| (v as f64) * (v as f64)).sum();
    for c in chunks {
        for (acc, &v) in lanes.iter_mut().zip(c) {
            *acc += (v as f64) * (v as f64);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Σx² of a contiguous f32 CPU tensor, read in place (None: another device, dtype or layout).
pub fn host_sum_sq(x: &candle_core::Tensor) -> Option<f64> {
    let (s, l) = x.storage_and_layout();
    match (&*s, l.contiguous_offsets()) {
        (candle_core::Storage::Cpu(CpuStorage::F32(v)), Some((a, b))) => Some(sum_sq(&v[a..b])),
        _ => None,
    }
}
