//! Fused CPU kernels, forward and backward, for the encoder's LayerNorm, attention softmax and
//! GELU. Each is one candle `CustomOp` whose forward and backward are single passes over raw
//! f32 slices, replacing a graph of many small allocating ops (and candle's own fused
//! `layer_norm`/`softmax_last_dim`, which have no backward).
//!
//! The public functions take any layout (they make inputs contiguous first) and only f32 (other
//! dtypes are an error). Off the CPU (the `cuda` feature) they fall back to the plain
//! differentiable composition of candle ops, which computes the same function.
//! Kernels are single-threaded: each training run is pinned to one thread.

mod gelu;
mod layer_norm;
mod softmax;

pub use gelu::gelu_erf;
pub use layer_norm::layer_norm;
pub use softmax::masked_softmax;

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, DType, Error, Layout, Result, Storage, Tensor};

/// Lanes of the multi-accumulator reductions: independent partial sums the compiler can keep
/// in one vector register (a single running sum is a serial dependency chain).
const LANES: usize = 8;

/// Σ v, with `LANES` partial sums.
#[inline]
fn sum(v: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

/// Errors unless `t` is an f32 tensor; `op` names the caller in the message.
fn check_f32(t: &Tensor, op: &'static str) -> Result<()> {
    match t.dtype() {
        DType::F32 => Ok(()),
        dt => Err(Error::UnsupportedDTypeForOp(dt, op).bt()),
    }
}

/// The f32 elements of a contiguous layout of a CPU storage; `op` names the caller in errors.
pub(crate) fn cpu_slice<'a>(s: &'a CpuStorage, l: &Layout, op: &'static str) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else { return Err(Error::UnsupportedDTypeForOp(s.dtype(), op).bt()) };
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&v[start..end]),
        None => bail!("{op}: expected a contiguous input, got strides {:?}", l.stride()),
    }
}

/// The f32 elements of a contiguous CPU tensor's storage (`s`, `l` from `storage_and_layout`).
fn tensor_slice<'a>(s: &'a Storage, l: &Layout, op: &'static str) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => cpu_slice(c, l, op),
        _ => bail!("{op}: the fused kernel runs on the CPU only"),
    }
}
