//! The fused CPU kernels (`harness::model::fused`) against the plain differentiable candle
//! compositions they replace: forward within 1e-6 and the gradient of every trained input within
//! 1e-5 (relative error `max|a − b| / max|b|`), against the plain composition both in f32 (what
//! the encoder used before) and in f64 (the error of the kernels themselves). Inputs are seeded;
//! shapes include hidden sizes that are not multiples of 8, batches above 1, padding masks and
//! non-contiguous inputs. Run with `--nocapture` to see the errors reached.

use candle_core::{DType, Device, Result, Tensor, Var, D};
use candle_nn::ops::{layer_norm_slow, softmax};
use harness::model::fused::{gelu_erf, layer_norm, masked_softmax};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const FWD_TOL: f64 = 1e-6;
const GRAD_TOL: f64 = 1e-5;
const MASKED: f32 = -1e9;

fn randn(rng: &mut ChaCha8Rng, shape: &[usize], mean: f32, std: f32) -> Tensor {
    let n: usize = shape.iter().product();
    let d = Normal::new(mean, std).unwrap();
    Tensor::from_vec((0..n).map(|_| d.sample(rng)).collect::<Vec<f32>>(), shape, &Device::Cpu).unwrap()
}

/// `max|a − b| / max|b|` in f64 (0 when both are all zeros).
fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
    let (a, b) = (a.to_dtype(DType::F64).unwrap(), b.to_dtype(DType::F64).unwrap());
    let diff = (&a - &b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
    let scale = b.abs().unwrap().max_all().unwrap().to_scalar::<f64>().unwrap();
    assert!(diff.is_finite(), "non-finite difference");
    if diff == 0.0 {
        0.0
    } else {
        diff / scale
    }
}

/// Output and gradients of `(f(inputs) · w).sum()` with every input a variable of dtype `dt`.
fn run(
    inputs: &[&Tensor],
    w: &Tensor,
    dt: DType,
    f: &dyn Fn(&[Tensor]) -> Result<Tensor>,
) -> (Tensor, Vec<Option<Tensor>>) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(&t.to_dtype(dt).unwrap()).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts).unwrap();
    let grads = (&y * w.to_dtype(dt).unwrap()).unwrap().sum_all().unwrap().backward().unwrap();
    (y, vars.iter().map(|v| grads.get(v.as_tensor()).cloned()).collect())
}

/// Compares the fused op with the plain composition in f32 and f64 for the inputs listed in
/// `trained` (indices into `inputs`); asserts the tolerances and returns the fused run.
fn check(
    what: &str,
    inputs: &[&Tensor],
    trained: &[usize],
    fused: &dyn Fn(&[Tensor]) -> Result<Tensor>,
    plain: &dyn Fn(&[Tensor]) -> Result<Tensor>,
) -> (Tensor, Vec<Option<Tensor>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let shape = fused(&inputs.iter().map(|t| (*t).clone()).collect::<Vec<_>>()).unwrap().dims().to_vec();
    let w = randn(&mut rng, &shape, 0.0, 1.0);
    let (yf, gf) = run(inputs, &w, DType::F32, fused);
    let (y32, g32) = run(inputs, &w, DType::F32, plain);
    let (y64, g64) = run(inputs, &w, DType::F64, plain);
    assert_eq!(yf.dtype(), DType::F32);
    let (e32, e64) = (rel_err(&yf, &y32), rel_err(&yf, &y64));
    println!("{what}: forward {e32:.2e} vs plain f32, {e64:.2e} vs plain f64");
    assert!(e32 <= FWD_TOL && e64 <= FWD_TOL, "{what}: forward off by {e32:.2e} (f32) / {e64:.2e} (f64)");
    for &i in trained {
        let gf = gf[i].as_ref().unwrap_or_else(|| panic!("{what}: input {i} got no gradient"));
        let (g32, g64) = (g32[i].as_ref().unwrap(), g64[i].as_ref().unwrap());
        assert_eq!(gf.dims(), g64.dims());
        let (e32, e64, base) = (rel_err(gf, g32), rel_err(gf, g64), rel_err(g32, g64));
        println!("{what}: grad {i} {e32:.2e} vs plain f32, {e64:.2e} vs plain f64 (plain f32 itself: {base:.2e})");
        assert!(e32 <= GRAD_TOL && e64 <= GRAD_TOL, "{what}: gradient {i} off by {e32:.2e} (f32) / {e64:.2e} (f64)");
    }
    (yf, gf)
}

#[test]
fn layer_norm_matches_the_plain_composition() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for (shape, eps) in [
        (vec![5, 7], 1e-12),
        (vec![2, 3, 13], 1e-5),
        (vec![4, 64], 1e-12),
        (vec![3, 384], 1e-12),
        (vec![2, 9, 100], 1e-12),
        (vec![1, 1], 1e-5),
    ] {
        let h = *shape.last().unwrap();
        let x = randn(&mut rng, &shape, 0.7, 2.5);
        let gamma = randn(&mut rng, &[h], 1.0, 0.5);
        let beta = randn(&mut rng, &[h], 0.0, 0.5);
        let what = format!("layer_norm {shape:?} eps {eps:e}");
        check(&what, &[&x, &gamma, &beta], &[0, 1, 2], &|t| layer_norm(&t[0], &t[1], &t[2], eps), &|t| {
            layer_norm_slow(&t[0], &t[1], &t[2], eps)
        });
    }
}

#[test]
fn layer_norm_takes_a_non_contiguous_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let xt = randn(&mut rng, &[6, 13], -0.3, 1.5); // used as its transpose: rows of 6
    let gamma = randn(&mut rng, &[6], 1.0, 0.5);
    let beta = randn(&mut rng, &[6], 0.0, 0.5);
    check(
        "layer_norm transposed (13, 6)",
        &[&xt, &gamma, &beta],
        &[0, 1, 2],
        &|t| layer_norm(&t[0].t()?, &t[1], &t[2], 1e-12),
        &|t| layer_norm_slow(&t[0].t()?, &t[1], &t[2], 1e-12),
    );
}

/// `(B, 1, 1, T)` bias: 0 for real keys, `MASKED` (or `fill`) where `keep` is false.
fn mask_bias(keep: &[Vec<bool>], fill: f32) -> Tensor {
    let (b, t) = (keep.len(), keep[0].len());
    let v: Vec<f32> = keep.iter().flatten().map(|&k| if k { 0.0 } else { fill }).collect();
    Tensor::from_vec(v, (b, 1, 1, t), &Device::Cpu).unwrap()
}

/// `(B, nh, Tq, Tk)`, head size for the scale, real keys per batch row (None: a random pattern).
type Case = (&'static [usize], usize, &'static [Option<usize>]);

fn plain_softmax(t: &[Tensor], scale: f64) -> Result<Tensor> {
    softmax(&(&t[0] * scale)?.broadcast_add(&t[1])?, D::Minus1)
}

#[test]
fn masked_softmax_matches_the_plain_composition() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let cases: [Case; 6] = [
        (&[1, 4, 16, 16], 16, &[Some(16)]),
        (&[2, 3, 5, 7], 8, &[Some(7), Some(4)]),
        (&[3, 12, 9, 9], 32, &[Some(9), Some(1), None]),
        (&[2, 4, 64, 64], 16, &[Some(40), Some(64)]),
        (&[2, 2, 3, 33], 64, &[None, Some(20)]),
        (&[2, 2, 3, 1], 4, &[Some(1), Some(1)]),
    ];
    for (shape, hs, lens) in cases {
        let (b, tk) = (shape[0], shape[3]);
        let keep: Vec<Vec<bool>> = (0..b)
            .map(|i| match lens[i] {
                Some(n) => (0..tk).map(|j| j < n).collect(),
                None => {
                    let mut k: Vec<bool> = (0..tk).map(|_| rng.random_bool(0.6)).collect();
                    k[rng.random_range(0..tk)] = true; // at least one real key
                    k
                }
            })
            .collect();
        let scores = randn(&mut rng, shape, 0.5, 4.0);
        let bias = mask_bias(&keep, MASKED);
        let scale = 1.0 / (hs as f64).sqrt();
        let what = format!("masked_softmax {shape:?} keep {lens:?}");
        let (y, grads) = check(&what, &[&scores, &bias], &[0], &|t| masked_softmax(&t[0], &t[1], scale), &|t| {
            plain_softmax(t, scale)
        });
        assert!(grads[1].is_none(), "{what}: the mask bias got a gradient");
        // Masked keys: exactly 0 probability and exactly 0 gradient.
        let y = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let ds = grads[0].as_ref().unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let per_batch = y.len() / b;
        for (i, ((yb, db), k)) in y.chunks(per_batch).zip(ds.chunks(per_batch)).zip(&keep).enumerate() {
            for (row, drow) in yb.chunks(tk).zip(db.chunks(tk)) {
                for j in (0..tk).filter(|&j| !k[j]) {
                    assert_eq!(row[j], 0.0, "{what}: masked key {j} of batch {i} has probability {}", row[j]);
                    assert_eq!(drow[j], 0.0, "{what}: masked key {j} of batch {i} has gradient {}", drow[j]);
                }
                let total: f32 = row.iter().sum();
                assert!((total - 1.0).abs() < 1e-5, "{what}: row sums to {total}");
            }
        }
    }
}

#[test]
fn all_masked_rows_follow_the_plain_composition_or_give_zeros_for_infinite_bias() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let scores = randn(&mut rng, &[2, 2, 3, 5], 0.0, 3.0);
    let keep = vec![vec![true, true, false, true, false], vec![false; 5]];
    // Finite bias: the same (near-uniform) rows as the plain composition, in f32.
    let bias = mask_bias(&keep, MASKED);
    let w = randn(&mut rng, &[2, 2, 3, 5], 0.0, 1.0);
    let (yf, gf) = run(&[&scores, &bias], &w, DType::F32, &|t| masked_softmax(&t[0], &t[1], 0.5));
    let (yp, gp) = run(&[&scores, &bias], &w, DType::F32, &|t| plain_softmax(t, 0.5));
    assert!(rel_err(&yf, &yp) <= FWD_TOL, "forward {:.2e}", rel_err(&yf, &yp));
    let (gf, gp) = (gf[0].as_ref().unwrap(), gp[0].as_ref().unwrap());
    assert!(rel_err(gf, gp) <= GRAD_TOL, "gradient {:.2e}", rel_err(gf, gp));
    // −∞ bias: the plain composition gives NaN for the all-masked batch; the fused op zeros.
    let bias = mask_bias(&keep, f32::NEG_INFINITY);
    let (y, g) = run(&[&scores, &bias], &w, DType::F32, &|t| masked_softmax(&t[0], &t[1], 0.5));
    let (y, g) = (y.flatten_all().unwrap().to_vec1::<f32>().unwrap(), g[0].as_ref().unwrap().flatten_all().unwrap());
    let g = g.to_vec1::<f32>().unwrap();
    assert!(y.iter().chain(&g).all(|v| v.is_finite()), "NaN or ∞ in {y:?} / {g:?}");
    assert!(y[30..].iter().chain(&g[30..]).all(|&v| v == 0.0), "all-masked batch: {:?}", &y[30..]);
    for row in y[..30].chunks(5) {
        assert_eq!((row[2], row[4]), (0.0, 0.0));
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
    let yp = plain_softmax(&[scores, bias], 0.5).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!(yp[30..].iter().all(|v| v.is_nan()), "the plain composition no longer gives NaN here");
}

#[test]
fn gelu_matches_candle_bitwise_forward_and_within_tolerance_backward() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for shape in [vec![7], vec![3, 33], vec![2, 5, 257]] {
        let mut x = randn(&mut rng, &shape, 0.0, 3.0).flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let specials = [0.0, -0.0, 1e-3, -1e-3, 1e-30, -10.0, 10.0, -30.0, 30.0, -5.5, 0.7];
        for (v, s) in x.iter_mut().zip(specials) {
            *v = s;
        }
        let x = Tensor::from_vec(x, shape.as_slice(), &Device::Cpu).unwrap();
        let what = format!("gelu_erf {shape:?}");
        let (y, _) = check(&what, &[&x], &[0], &|t| gelu_erf(&t[0]), &|t| t[0].gelu_erf());
        let a = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let b = x.gelu_erf().unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()), "{what}: forward not bitwise equal");
    }
    let xt = randn(&mut rng, &[33, 3], 0.0, 2.0);
    check("gelu_erf transposed (3, 33)", &[&xt], &[0], &|t| gelu_erf(&t[0].t()?), &|t| t[0].t()?.gelu_erf());
}

#[test]
fn the_checks_catch_a_small_error() {
    // A 3e-5 relative error in the softmax scale, or in gamma, shows up above GRAD_TOL.
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let scores = randn(&mut rng, &[2, 3, 8, 8], 0.0, 4.0);
    let bias = mask_bias(&[vec![true; 8], (0..8).map(|j| j < 5).collect()], MASKED);
    let w = randn(&mut rng, &[2, 3, 8, 8], 0.0, 1.0);
    let (_, gf) = run(&[&scores, &bias], &w, DType::F32, &|t| masked_softmax(&t[0], &t[1], 0.25 * (1.0 + 3e-5)));
    let (_, gp) = run(&[&scores, &bias], &w, DType::F64, &|t| plain_softmax(t, 0.25));
    let e = rel_err(gf[0].as_ref().unwrap(), gp[0].as_ref().unwrap());
    assert!(e > GRAD_TOL, "softmax scale off by 3e-5 went unnoticed ({e:.2e})");

    let x = randn(&mut rng, &[4, 24], 0.0, 1.0);
    let gamma = randn(&mut rng, &[24], 1.0, 0.3);
    let beta = randn(&mut rng, &[24], 0.0, 0.3);
    let w = randn(&mut rng, &[4, 24], 0.0, 1.0);
    let off = (&gamma * (1.0 + 3e-5)).unwrap();
    let (_, gf) = run(&[&x, &off, &beta], &w, DType::F32, &|t| layer_norm(&t[0], &t[1], &t[2], 1e-12));
    let (_, gp) = run(&[&x, &gamma, &beta], &w, DType::F64, &|t| layer_norm_slow(&t[0], &t[1], &t[2], 1e-12));
    let e = rel_err(gf[0].as_ref().unwrap(), gp[0].as_ref().unwrap());
    assert!(e > GRAD_TOL, "gamma off by 3e-5 went unnoticed in dx ({e:.2e})");
}

#[test]
fn other_dtypes_and_bad_shapes_are_errors() {
    let dev = Device::Cpu;
    let x = Tensor::ones((2, 4), DType::F64, &dev).unwrap();
    let g = Tensor::ones(4, DType::F64, &dev).unwrap();
    let e = layer_norm(&x, &g, &g, 1e-5).unwrap_err().to_string();
    assert!(e.contains("F64") && e.contains("fused-layer-norm"), "{e}");
    let e = gelu_erf(&x).unwrap_err().to_string();
    assert!(e.contains("F64") && e.contains("fused-gelu-erf"), "{e}");
    let s = Tensor::ones((1, 2, 3, 4), DType::F64, &dev).unwrap();
    let m = Tensor::zeros((1, 1, 1, 4), DType::F64, &dev).unwrap();
    let e = masked_softmax(&s, &m, 1.0).unwrap_err().to_string();
    assert!(e.contains("F64") && e.contains("fused-masked-softmax"), "{e}");

    let x = Tensor::ones((2, 4), DType::F32, &dev).unwrap();
    let g5 = Tensor::ones(5, DType::F32, &dev).unwrap();
    assert!(layer_norm(&x, &g5, &g5, 1e-5).is_err());
    let s = Tensor::ones((2, 2, 3, 4), DType::F32, &dev).unwrap();
    let m = Tensor::zeros((2, 1, 3, 4), DType::F32, &dev).unwrap();
    assert!(masked_softmax(&s, &m, 1.0).is_err());
}
