//! Timing of the fused kernels (and the fused Linear) against the plain compositions they
//! replace, forward and forward + backward, at the shapes of the default model and of a wider
//! one; the Linear row also gives the matrix-product rate in GFLOPS. Ignored by
//! default: `cargo test --test fused_bench -- --ignored --nocapture` (one thread; kernels are
//! single-threaded, the plain ops use rayon's pool).

use std::time::Instant;

use candle_core::{Device, Result, Tensor, Var, D};
use candle_nn::ops::{layer_norm_slow, softmax};
use harness::model::fused::{gelu_erf, layer_norm, masked_softmax};
use harness::model::linear::Linear;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// An op on the inputs, as a boxed closure.
type Op = Box<dyn Fn(&[Tensor]) -> Result<Tensor>>;

fn randn(rng: &mut ChaCha8Rng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let d = Normal::new(0f32, 1.0).unwrap();
    Tensor::from_vec((0..n).map(|_| d.sample(rng)).collect::<Vec<f32>>(), shape, &Device::Cpu).unwrap()
}

/// Median µs of `f` (forward only, and forward + backward of `(f · w).sum()`), over `reps` runs.
fn time(inputs: &[&Tensor], f: &dyn Fn(&[Tensor]) -> Result<Tensor>, reps: usize) -> (f64, f64) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let w = f(&ts).unwrap().ones_like().unwrap();
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut fwd = Vec::with_capacity(reps);
    let mut both = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        let y = f(&ts).unwrap();
        fwd.push(t0.elapsed().as_secs_f64() * 1e6);
        drop(y);
        let t0 = Instant::now();
        let y = f(&ts).unwrap();
        let g = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
        both.push(t0.elapsed().as_secs_f64() * 1e6);
        drop(g);
    }
    (med(fwd), med(both))
}

#[test]
#[ignore]
fn fused_kernels_against_plain_ops() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // (name, tokens, hidden, intermediate, heads)
    for (name, t, h, inter, nh) in [("default", 40, 64, 256, 4), ("wide", 256, 256, 1024, 4)] {
        let reps = if t > 100 { 50 } else { 400 };
        let x = randn(&mut rng, &[t, h]);
        let (g, b) = (randn(&mut rng, &[h]), randn(&mut rng, &[h]));
        let s = randn(&mut rng, &[1, nh, t, t]);
        let mask = Tensor::zeros((1, 1, 1, t), candle_core::DType::F32, &Device::Cpu).unwrap();
        let xi = randn(&mut rng, &[t, inter]);
        let scale = 1.0 / ((h / nh) as f64).sqrt();
        let (wi, bi) = (randn(&mut rng, &[inter, h]), randn(&mut rng, &[inter]));
        let rows: [(&str, Vec<&Tensor>, Op, Op); 4] = [
            (
                "layer_norm",
                vec![&x, &g, &b],
                Box::new(|v| layer_norm(&v[0], &v[1], &v[2], 1e-12)),
                Box::new(|v| layer_norm_slow(&v[0], &v[1], &v[2], 1e-12)),
            ),
            (
                "masked_softmax",
                vec![&s, &mask],
                Box::new(move |v| masked_softmax(&v[0], &v[1], scale)),
                Box::new(move |v| softmax(&(&v[0] * scale)?.broadcast_add(&v[1])?, D::Minus1)),
            ),
            ("gelu_erf", vec![&xi], Box::new(|v| gelu_erf(&v[0])), Box::new(|v| v[0].gelu_erf())),
            (
                "linear",
                vec![&x, &wi, &bi],
                Box::new(|v| Linear { weight: v[1].clone(), bias: v[2].clone() }.forward(&v[0])),
                Box::new(|v| v[0].matmul(&v[1].t()?)?.broadcast_add(&v[2])),
            ),
        ];
        // fwd: one product of 2·t·h·inter flops; fwd+bwd: three.
        let gflops = |us: f64, products: f64| products * 2.0 * (t * h * inter) as f64 / us / 1e3;
        for (op, inputs, fused, plain) in rows.iter() {
            let (ff, fb) = time(inputs, fused.as_ref(), reps);
            let (pf, pb) = time(inputs, plain.as_ref(), reps);
            println!(
                "{name:8} {op:15} fused fwd {ff:8.1} µs, fwd+bwd {fb:8.1} µs | plain fwd {pf:8.1} µs, fwd+bwd {pb:8.1} µs | {:.1}x",
                pb / fb
            );
            if *op == "linear" {
                println!(
                    "{name:8} linear          fused {:.1} GFLOPS fwd, {:.1} fwd+bwd",
                    gflops(ff, 1.0),
                    gflops(fb, 3.0)
                );
            }
        }
    }
}
