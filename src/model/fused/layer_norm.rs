//! Fused LayerNorm over the last dimension (`layer_norm`): one pass per row forward, and a
//! backward that returns dx, dgamma and dbeta from one fused sweep over the rows. The backward
//! recomputes each row's mean and 1/std from x rather than saving them (two cheap passes over
//! an L1-resident row, and no state kept between forward and backward).

use candle_core::{bail, CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};
use candle_nn::ops::layer_norm_slow;

use super::{check_f32, cpu_slice, sum, tensor_slice, LANES};

const NAME: &str = "fused-layer-norm";

/// `(x − mean) / √(var + eps) · gamma + beta` over the last dimension of `x` (any rank, any
/// layout), with the biased variance as in PyTorch's `nn.LayerNorm` and candle's
/// `layer_norm_slow`; statistics are accumulated in f32. `gamma`, `beta`: `(H,)`.
pub fn layer_norm(x: &Tensor, gamma: &Tensor, beta: &Tensor, eps: f32) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return layer_norm_slow(x, gamma, beta, eps);
    }
    for t in [x, gamma, beta] {
        check_f32(t, NAME)?;
    }
    let h = x.dim(D::Minus1)?;
    if gamma.dims() != [h] || beta.dims() != [h] {
        bail!(
            "{NAME}: x {:?} needs gamma and beta of shape [{h}], got {:?} and {:?}",
            x.dims(),
            gamma.dims(),
            beta.dims()
        )
    }
    x.contiguous()?.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, LayerNorm { eps })
}

struct LayerNorm {
    eps: f32,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (x, gamma, beta) = (cpu_slice(s1, l1, NAME)?, cpu_slice(s2, l2, NAME)?, cpu_slice(s3, l3, NAME)?);
        let h = l1.shape().dims().last().copied().unwrap_or(0);
        if gamma.len() != h || beta.len() != h {
            bail!("{NAME}: hidden size {h}, gamma {} and beta {}", gamma.len(), beta.len())
        }
        let mut y = vec![0f32; x.len()];
        forward(x, gamma, beta, self.eps, &mut y);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let h = gamma.elem_count();
        let mut dx = vec![0f32; x.elem_count()];
        let mut dgamma = vec![0f32; h];
        let mut dbeta = vec![0f32; h];
        {
            let (xs, xl) = x.storage_and_layout();
            let (gs, gl) = gamma.storage_and_layout();
            let (ds, dl) = grad.storage_and_layout();
            let (xv, gv, dv) =
                (tensor_slice(&xs, xl, NAME)?, tensor_slice(&gs, gl, NAME)?, tensor_slice(&ds, dl, NAME)?);
            backward(xv, gv, dv, self.eps, &mut dx, &mut dgamma, &mut dbeta);
        }
        let dev = x.device();
        let dx = x.track_op().then(|| Tensor::from_vec(dx, x.shape(), dev)).transpose()?;
        let dgamma = gamma.track_op().then(|| Tensor::from_vec(dgamma, gamma.shape(), dev)).transpose()?;
        let dbeta = beta.track_op().then(|| Tensor::from_vec(dbeta, beta.shape(), dev)).transpose()?;
        Ok((dx, dgamma, dbeta))
    }
}

/// Mean and `1/√(var + eps)` of one row (two passes: the variance from centred values).
#[inline]
fn moments(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let mut var = chunks.remainder().iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += (v - mean) * (v - mean);
        }
    }
    var = (var + acc.iter().sum::<f32>()) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

/// `(Σ a·b, Σ a·b·c)`, with `LANES` partial sums each.
#[inline]
fn dots(a: &[f32], b: &[f32], c: &[f32]) -> (f32, f32) {
    let (mut s1, mut s2) = ([0f32; LANES], [0f32; LANES]);
    let (ac, bc, cc) = (a.chunks_exact(LANES), b.chunks_exact(LANES), c.chunks_exact(LANES));
    let (mut r1, mut r2) = (0f32, 0f32);
    for ((&a, &b), &c) in ac.remainder().iter().zip(bc.remainder()).zip(cc.remainder()) {
        r1 += a * b;
        r2 += a * b * c;
    }
    for ((a, b), c) in ac.zip(bc).zip(cc) {
        for l in 0..LANES {
            let ab = a[l] * b[l];
            s1[l] += ab;
            s2[l] += ab * c[l];
        }
    }
    (s1.iter().sum::<f32>() + r1, s2.iter().sum::<f32>() + r2)
}

/// `y` = LayerNorm of each `gamma.len()`-sized row of `x`.
pub(super) fn forward(x: &[f32], gamma: &[f32], beta: &[f32], eps: f32, y: &mut [f32]) {
    let h = gamma.len();
    if h == 0 {
        return;
    }
    for (xr, yr) in x.chunks_exact(h).zip(y.chunks_exact_mut(h)) {
        let (mean, rstd) = moments(xr, eps);
        for (((y, &x), &g), &b) in yr.iter_mut().zip(xr).zip(gamma).zip(beta) {
            *y = (x - mean) * rstd * g + b;
        }
    }
}

/// With `x̂ = (x − mean)·rstd` and `ĝ = g·gamma` per row:
/// `dx = rstd · (ĝ − mean(ĝ) − x̂ · mean(ĝ·x̂))`, `dgamma = Σ_rows g·x̂`, `dbeta = Σ_rows g`.
/// `dgamma` and `dbeta` are accumulated into (start them at 0).
pub(super) fn backward(
    x: &[f32],
    gamma: &[f32],
    g: &[f32],
    eps: f32,
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let h = gamma.len();
    if h == 0 {
        return;
    }
    let (dgamma, dbeta) = (&mut dgamma[..h], &mut dbeta[..h]);
    let inv_n = 1.0 / h as f32;
    for ((xr, gr), dxr) in x.chunks_exact(h).zip(g.chunks_exact(h)).zip(dx.chunks_exact_mut(h)) {
        let (mean, rstd) = moments(xr, eps);
        // dxr holds x̂ until the last loop overwrites it with dx.
        for ((((xh, &x), &g), dga), dbe) in dxr.iter_mut().zip(xr).zip(gr).zip(dgamma.iter_mut()).zip(dbeta.iter_mut())
        {
            let v = (x - mean) * rstd;
            *xh = v;
            *dga += g * v;
            *dbe += g;
        }
        let (s1, s2) = dots(gr, gamma, dxr);
        let (m1, m2) = (s1 * inv_n, s2 * inv_n);
        for ((d, &g), &ga) in dxr.iter_mut().zip(gr).zip(gamma) {
            *d = rstd * (g * ga - m1 - *d * m2);
        }
    }
}
