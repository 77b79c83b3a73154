//! A dense layer `y = x Wᵀ + b` on `(n, in)` inputs, with PyTorch's weight layout `(out, in)`.
//! On the CPU it is one fused op (bias written into the output, one gemm call) whose backward
//! is two gemm calls and a column sum, instead of candle's transpose, matmul and broadcast add,
//! each with its own backward and gradient accumulation. Elsewhere it is those plain ops.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor};
use gemm::{gemm, Parallelism};

#[derive(Clone)]
pub struct Linear {
    pub weight: Tensor, // (out, in)
    pub bias: Tensor,   // (out,)
}

impl Linear {
    /// `x`: (n, in) → (n, out).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.device().is_cpu() && x.dtype() == candle_core::DType::F32 && x.rank() == 2 {
            return x.contiguous()?.apply_op3(&self.weight, &self.bias, FusedLinear);
        }
        x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)
    }
}

/// `dst (m, n) := [dst +] lhs · rhs`, all row-major with the given row strides (column stride
/// 1), except that `lhs_t` / `rhs_t` read the transposed matrix.
fn matmul_into(dst: &mut [f32], m: usize, n: usize, k: usize, lhs: (&[f32], bool), rhs: (&[f32], bool), add: bool) {
    let (lhs, lhs_t) = lhs;
    let (rhs, rhs_t) = rhs;
    debug_assert!(dst.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    // (row stride, column stride) of lhs as an (m, k) matrix and of rhs as a (k, n) one.
    let (lhs_rs, lhs_cs) = if lhs_t { (1, m as isize) } else { (k as isize, 1) };
    let (rhs_rs, rhs_cs) = if rhs_t { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the slices hold the m×n, m×k and k×n matrices the strides describe.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            add,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            if add { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        )
    }
}

struct FusedLinear;

fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    super::fused::cpu_slice(s, l, "fused linear")
}

impl CustomOp3 for FusedLinear {
    fn name(&self) -> &'static str {
        "fused-linear"
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
        let (x, w, b) = (slice(s1, l1)?, slice(s2, l2)?, slice(s3, l3)?);
        let (n, inp) = l1.shape().dims2()?;
        let (out, w_in) = l2.shape().dims2()?;
        if w_in != inp || b.len() != out {
            candle_core::bail!("fused linear: x {:?}, weight {:?}, bias {:?}", l1.shape(), l2.shape(), l3.shape());
        }
        let mut y = Vec::with_capacity(n * out);
        for _ in 0..n {
            y.extend_from_slice(b);
        }
        matmul_into(&mut y, n, out, inp, (x, false), (w, true), true);
        Ok((CpuStorage::F32(y), Shape::from((n, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, inp) = x.dims2()?;
        let out = w.dim(0)?;
        let dy = dy.contiguous()?;
        let (xs, xl) = x.storage_and_layout();
        let (ws, wl) = w.storage_and_layout();
        let (dys, dyl) = dy.storage_and_layout();
        let (Storage::Cpu(xs), Storage::Cpu(ws), Storage::Cpu(dys)) = (&*xs, &*ws, &*dys) else {
            candle_core::bail!("fused linear: backward on a CPU op got tensors from another device")
        };
        let (xv, wv, dyv) = (slice(xs, xl)?, slice(ws, wl)?, slice(dys, dyl)?);
        let mut dx = vec![0.0f32; n * inp];
        matmul_into(&mut dx, n, inp, out, (dyv, false), (wv, false), false);
        let mut dw = vec![0.0f32; out * inp];
        matmul_into(&mut dw, out, inp, n, (dyv, true), (xv, false), false);
        let mut db = vec![0.0f32; out];
        for row in dyv.chunks_exact(out) {
            db.iter_mut().zip(row).for_each(|(s, &g)| *s += g);
        }
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (n, inp), dev)?),
            Some(Tensor::from_vec(dw, (out, inp), dev)?),
            Some(Tensor::from_vec(db, out, dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use rand::SeedableRng;

    fn random(rng: &mut rand_chacha::ChaCha8Rng, shape: &[usize]) -> Var {
        Var::from_tensor(&crate::model::init::normal(rng, shape, 1.0, &Device::Cpu).unwrap()).unwrap()
    }

    fn max_rel_err(a: &Tensor, b: &Tensor) -> f32 {
        let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
        let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
        let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        a.iter().zip(&b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    #[test]
    fn fused_linear_matches_matmul_plus_bias_in_value_and_every_gradient() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for (n, inp, out) in [(1, 3, 1), (7, 16, 5), (33, 64, 256), (5, 13, 2)] {
            let (x, w, b) = (random(&mut rng, &[n, inp]), random(&mut rng, &[out, inp]), random(&mut rng, &[out]));
            let weights = random(&mut rng, &[n, out]);
            let layer = Linear { weight: w.as_tensor().clone(), bias: b.as_tensor().clone() };
            let fused = layer.forward(x.as_tensor()).unwrap();
            let plain = x.as_tensor().matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap();
            assert!(max_rel_err(&fused, &plain) <= 1e-6, "forward {n}x{inp}->{out}");
            let gf = (fused * weights.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
            let gp = (plain * weights.as_tensor()).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("x", &x), ("weight", &w), ("bias", &b)] {
                let (f, p) = (gf.get(v.as_tensor()).unwrap(), gp.get(v.as_tensor()).unwrap());
                let err = max_rel_err(f, p);
                assert!(err <= 1e-5, "d{name} {n}x{inp}->{out}: relative error {err}");
            }
        }
    }

    #[test]
    fn a_non_contiguous_input_is_handled() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let (x, w, b) = (random(&mut rng, &[6, 4]), random(&mut rng, &[3, 6]), random(&mut rng, &[3]));
        let layer = Linear { weight: w.as_tensor().clone(), bias: b.as_tensor().clone() };
        let xt = x.as_tensor().t().unwrap(); // (4, 6), strided
        let fused = layer.forward(&xt).unwrap();
        let plain = xt.matmul(&w.t().unwrap()).unwrap().broadcast_add(&b).unwrap();
        assert!(max_rel_err(&fused, &plain) <= 1e-6);
    }
}
