//! Fused exact GELU (`gelu_erf`): `0.5·x·(1 + erf(x/√2))` forward, computed exactly as candle's
//! `Tensor::gelu_erf` does on the CPU (same `erf`, same operation order, so bitwise equal), and
//! `g·(Φ(x) + x·φ(x))` backward in one pass. The forward keeps Φ(x) for the backward (like
//! PyTorch's `save_for_backward`), so the backward needs one `exp` per element and no `erf`.

use std::f32::consts::FRAC_1_SQRT_2;
use std::sync::OnceLock;

use candle_core::cpu::erf::erf_f32;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

use super::{check_f32, cpu_slice, tensor_slice};

const NAME: &str = "fused-gelu-erf";

/// 1/√(2π), the standard normal density at 0.
const INV_SQRT_2PI: f32 = (std::f64::consts::FRAC_2_SQRT_PI * std::f64::consts::FRAC_1_SQRT_2 * 0.5) as f32;

/// `x·Φ(x) = 0.5·x·(1 + erf(x/√2))` elementwise, any shape and layout.
pub fn gelu_erf(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return x.gelu_erf();
    }
    check_f32(x, NAME)?;
    x.contiguous()?.apply_op1(GeluErf { cdf: OnceLock::new() })
}

struct GeluErf {
    /// Φ(x) of the forward's input, for the backward. Each application builds its own op.
    cdf: OnceLock<Vec<f32>>,
}

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_slice(s, l, NAME)?;
        let mut y = vec![0f32; x.len()];
        let mut cdf = vec![0f32; x.len()];
        forward(x, &mut y, &mut cdf);
        // Only fails if this op ran twice, which `gelu_erf` never does; the backward then
        // recomputes Φ.
        let _ = self.cdf.set(cdf);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        if !x.track_op() {
            return Ok(None);
        }
        let grad = grad.contiguous()?;
        let mut dx = vec![0f32; x.elem_count()];
        {
            let (xs, xl) = x.storage_and_layout();
            let (gs, gl) = grad.storage_and_layout();
            let (xv, gv) = (tensor_slice(&xs, xl, NAME)?, tensor_slice(&gs, gl, NAME)?);
            match self.cdf.get().filter(|c| c.len() == xv.len()) {
                Some(cdf) => backward(xv, cdf, gv, &mut dx),
                None => {
                    let mut cdf = vec![0f32; xv.len()];
                    forward(xv, &mut dx, &mut cdf);
                    backward(xv, &cdf, gv, &mut dx);
                }
            }
        }
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

/// `cdf = Φ(x)`, `y = x·Φ(x)`, with candle's expression `(erf(x/√2) + 1)·0.5·x`.
pub(super) fn forward(x: &[f32], y: &mut [f32], cdf: &mut [f32]) {
    for ((y, c), &x) in y.iter_mut().zip(cdf.iter_mut()).zip(x) {
        let p = (erf_f32(x * FRAC_1_SQRT_2) + 1.0) * 0.5;
        *c = p;
        *y = p * x;
    }
}

/// `dx = g·(Φ(x) + x·φ(x))` with `φ(x) = exp(−x²/2)/√(2π)`.
pub(super) fn backward(x: &[f32], cdf: &[f32], g: &[f32], dx: &mut [f32]) {
    for (((d, &x), &c), &g) in dx.iter_mut().zip(x).zip(cdf).zip(g) {
        *d = g * (c + x * (-0.5 * x * x).exp() * INV_SQRT_2PI);
    }
}
