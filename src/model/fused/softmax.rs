//! Fused masked softmax for attention (`masked_softmax`): the scale, the padding-mask bias and
//! the softmax over keys in one pass per row forward, and the softmax backward in one pass per
//! row. The backward needs only the output probabilities, which candle hands to `bwd`.

use candle_core::{bail, CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, D};
use candle_nn::ops::softmax;

use super::{check_f32, cpu_slice, sum, tensor_slice, LANES};

const NAME: &str = "fused-masked-softmax";

/// `softmax(scores · scale + mask_bias)` over the last dimension, for attention scores
/// `(B, nh, Tq, Tk)` and a padding-mask bias `(B, 1, 1, Tk)` (0 for real keys, a large negative
/// number such as −1e9 for padding) broadcast over heads and query rows. Only `scores` gets a
/// gradient: `scale · y ⊙ (g − Σ g⊙y)`; the mask bias is treated as a constant.
///
/// Masked keys get exactly 0: `exp(−1e9 − max)` underflows. A row whose keys are all masked
/// (never the case with at least one real token) behaves as the plain composition does: with a
/// finite bias it is the softmax of the biased scores (in f32 the bias swamps the scores, so
/// close to uniform, as in PyTorch's BERT); with a bias of −∞ on every key, where the plain
/// composition gives NaN, the row is all zeros and passes no gradient.
pub fn masked_softmax(scores: &Tensor, mask_bias: &Tensor, scale: f64) -> Result<Tensor> {
    if !scores.device().is_cpu() {
        return softmax(&(scores * scale)?.broadcast_add(mask_bias)?, D::Minus1);
    }
    check_f32(scores, NAME)?;
    check_f32(mask_bias, NAME)?;
    let (b, _, _, tk) = scores.dims4()?;
    if mask_bias.dims() != [b, 1, 1, tk] {
        bail!(
            "{NAME}: scores {:?} need a mask bias of shape [{b}, 1, 1, {tk}], got {:?}",
            scores.dims(),
            mask_bias.dims()
        )
    }
    scores.contiguous()?.apply_op2(&mask_bias.contiguous()?, MaskedSoftmax { scale: scale as f32 })
}

struct MaskedSoftmax {
    /// As candle's `affine` rounds its factor, so scores are scaled exactly as `scores * scale`.
    scale: f32,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        NAME
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (scores, mask) = (cpu_slice(s1, l1, NAME)?, cpu_slice(s2, l2, NAME)?);
        let (b, _, _, tk) = l1.shape().dims4()?;
        if mask.len() != b * tk {
            bail!("{NAME}: scores {:?} with a mask bias of {} elements", l1.shape(), mask.len())
        }
        let mut y = vec![0f32; scores.len()];
        forward(scores, mask, b, tk, self.scale, &mut y);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        scores: &Tensor,
        _mask: &Tensor,
        y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        if !scores.track_op() {
            return Ok((None, None));
        }
        let grad = grad.contiguous()?;
        let tk = scores.dim(D::Minus1)?;
        let mut ds = vec![0f32; scores.elem_count()];
        {
            let (ys, yl) = y.storage_and_layout();
            let (gs, gl) = grad.storage_and_layout();
            backward(tensor_slice(&ys, yl, NAME)?, tensor_slice(&gs, gl, NAME)?, tk, self.scale, &mut ds);
        }
        Ok((Some(Tensor::from_vec(ds, scores.shape(), scores.device())?), None))
    }
}

/// `y` = softmax over each `tk`-sized row of `scores · scale + mask`, where batch `i` (a block
/// of `scores.len() / b` elements) uses `mask[i·tk..(i+1)·tk]`.
pub(super) fn forward(scores: &[f32], mask: &[f32], b: usize, tk: usize, scale: f32, y: &mut [f32]) {
    if b == 0 || tk == 0 {
        return;
    }
    let block = scores.len() / b;
    for ((sb, yb), m) in scores.chunks_exact(block).zip(y.chunks_exact_mut(block)).zip(mask.chunks_exact(tk)) {
        for (sr, yr) in sb.chunks_exact(tk).zip(yb.chunks_exact_mut(tk)) {
            for ((y, &s), &m) in yr.iter_mut().zip(sr).zip(m) {
                *y = s * scale + m;
            }
            let max = row_max(yr);
            if max == f32::NEG_INFINITY {
                yr.fill(0.0); // every key masked with −∞: no attention rather than NaN
                continue;
            }
            for y in yr.iter_mut() {
                *y = (*y - max).exp();
            }
            let inv = 1.0 / sum(yr);
            for y in yr.iter_mut() {
                *y *= inv;
            }
        }
    }
}

/// The largest element (−∞ for an empty row; NaNs are skipped and resurface through `exp`).
#[inline]
fn row_max(v: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder().iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = a.max(x);
        }
    }
    acc.iter().fold(rest, |m, &x| m.max(x))
}

/// `ds = scale · y ⊙ (g − Σ g⊙y)` per `tk`-sized row.
pub(super) fn backward(y: &[f32], g: &[f32], tk: usize, scale: f32, ds: &mut [f32]) {
    if tk == 0 {
        return;
    }
    for ((yr, gr), dr) in y.chunks_exact(tk).zip(g.chunks_exact(tk)).zip(ds.chunks_exact_mut(tk)) {
        let mut acc = [0f32; LANES];
        let (yc, gc) = (yr.chunks_exact(LANES), gr.chunks_exact(LANES));
        let rest = yc.remainder().iter().zip(gc.remainder()).map(|(&y, &g)| y * g).sum::<f32>();
        for (yl, gl) in yc.zip(gc) {
            for ((a, &y), &g) in acc.iter_mut().zip(yl).zip(gl) {
                *a += y * g;
            }
        }
        let dot = acc.iter().sum::<f32>() + rest;
        for ((d, &y), &g) in dr.iter_mut().zip(yr).zip(gr) {
            *d = scale * y * (g - dot);
        }
    }
}
