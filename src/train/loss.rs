//! The training losses, over the loss tokens only (the caller passes just those).
//! `std` follows `torch.std`: unbiased, divides by n − 1.

use candle_core::{Result, Tensor};

use crate::config::resolved::Loss;

/// The loss and its two terms, as tensors (the total is what gets differentiated).
pub struct LossParts {
    pub total: Tensor,
    /// Σ (y − ŷ)² (for the `mse_mean*` kinds, the mean instead).
    pub mse: Tensor,
    /// The diversity term as a reward, `mse − total` (φ·std for the seed's loss; ≤ 0 for the
    /// hinge, which only penalises); `None` when the loss has no diversity term.
    pub std_bonus: Option<Tensor>,
}

/// `preds`, `logits`, `labels`: (K,) over loss tokens, K ≥ 2.
pub fn compute(kind: &Loss, preds: &Tensor, logits: &Tensor, labels: &Tensor) -> Result<LossParts> {
    let k = preds.dim(0)?;
    if k < 2 {
        candle_core::bail!("the batch has {k} loss tokens; the loss needs at least 2");
    }
    let sq = (preds - labels)?.sqr()?;
    let mse = match kind {
        Loss::MseMean | Loss::MseMeanMinusStd { .. } => sq.mean_all()?,
        _ => sq.sum_all()?,
    };
    let bonus = match *kind {
        Loss::MseSum | Loss::MseMean => None,
        Loss::MseSumMinusStd { phi } | Loss::MseMeanMinusStd { phi } => Some((unbiased_std(preds)? * phi)?),
        Loss::MseSumMinusLogitStd { phi } => Some((unbiased_std(logits)? * phi)?),
        Loss::MseSumMinusCappedStd { phi, cap } => {
            let std = unbiased_std(preds)?;
            // Above the cap the bonus is the constant φ·cap: no gradient pushes spread further.
            let capped = if std.to_scalar::<f32>()? as f64 > cap { std.affine(0.0, cap)? } else { std };
            Some((capped * phi)?)
        }
        Loss::MseSumHingeStd { phi, target } => {
            let std = unbiased_std(preds)?;
            // −φ·max(0, target − std) as a reward: 0 (and no gradient) once std ≥ target.
            let short = if (std.to_scalar::<f32>()? as f64) < target {
                std.affine(1.0, -target)?
            } else {
                std.affine(0.0, 0.0)?
            };
            Some((short * phi)?)
        }
    };
    let total = match &bonus {
        Some(b) => (&mse - b)?,
        None => mse.clone(),
    };
    Ok(LossParts { total, mse, std_bonus: bonus })
}

/// `sqrt(Σ (x − x̄)² / (n − 1))`, differentiable. When all values are exactly equal the
/// gradient is 0, as in torch (its `std_backward` masks the 0/0 to 0), not NaN.
pub fn unbiased_std(x: &Tensor) -> Result<Tensor> {
    let n = x.dim(0)?;
    let centred = x.broadcast_sub(&x.mean_all()?)?;
    let var = (centred.sqr()?.sum_all()? / (n as f64 - 1.0))?;
    if var.to_scalar::<f32>()? == 0.0 {
        return var.affine(0.0, 0.0); // value 0, gradient 0
    }
    var.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn t(v: &[f32]) -> Tensor {
        Tensor::new(v, &Device::Cpu).unwrap()
    }

    fn scalar(x: &Tensor) -> f64 {
        x.to_scalar::<f32>().unwrap() as f64
    }

    // Reference values by hand (and checked with torch):
    // preds = [0.2, 0.4, 0.9], labels = [0.0, 0.5, 1.0]
    // squared errors 0.04, 0.01, 0.01 → sum 0.06, mean 0.02
    // torch.std(preds) = sqrt(((−0.3)² + (−0.1)² + 0.4²) / 2) = sqrt(0.13) = 0.360555
    #[test]
    fn each_loss_matches_hand_computed_values() {
        let (p, y) = (t(&[0.2, 0.4, 0.9]), t(&[0.0, 0.5, 1.0]));
        let cases: &[(Loss, f64, f64, Option<f64>)] = &[
            (Loss::MseSum, 0.06, 0.06, None),
            (Loss::MseMean, 0.02, 0.02, None),
            (Loss::MseSumMinusStd { phi: 100.0 }, 0.06 - 36.0555, 0.06, Some(36.0555)),
            (Loss::MseSumMinusStd { phi: 0.0 }, 0.06, 0.06, Some(0.0)),
        ];
        for (kind, total, mse, bonus) in cases {
            let parts = compute(kind, &p, &p, &y).unwrap();
            assert!((scalar(&parts.total) - total).abs() < 1e-4, "{kind:?} total {}", scalar(&parts.total));
            assert!((scalar(&parts.mse) - mse).abs() < 1e-6, "{kind:?}");
            match (bonus, &parts.std_bonus) {
                (Some(b), Some(t)) => assert!((scalar(t) - b).abs() < 1e-3, "{kind:?}"),
                (None, None) => {}
                _ => panic!("{kind:?}: std term presence"),
            }
        }
    }

    #[test]
    fn fewer_than_two_tokens_is_an_error() {
        assert!(compute(&Loss::MseSum, &t(&[0.5]), &t(&[0.5]), &t(&[0.5])).is_err());
    }

    #[test]
    fn std_of_equal_values_has_zero_gradient_like_torch() {
        let v = candle_core::Var::new(&[0.3f32, 0.3, 0.3], &Device::Cpu).unwrap();
        let std = unbiased_std(v.as_tensor()).unwrap();
        assert_eq!(std.to_scalar::<f32>().unwrap(), 0.0);
        let g = std.backward().unwrap();
        // candle drops the branch entirely (an absent gradient is a zero one), never NaN.
        let grad: Vec<f32> = g.get(v.as_tensor()).map(|t| t.to_vec1().unwrap()).unwrap_or(vec![0.0; 3]);
        assert_eq!(grad, vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn std_gradient_sums_to_zero_over_tokens() {
        // ∂std/∂ŷᵢ ∝ (ŷᵢ − ȳ): the bonus cannot move all predictions together (SEED.md).
        let v = candle_core::Var::new(&[0.1f32, 0.5, 0.7, 0.2], &Device::Cpu).unwrap();
        let g = unbiased_std(v.as_tensor()).unwrap().backward().unwrap();
        let grad: Vec<f32> = g.get(v.as_tensor()).unwrap().to_vec1().unwrap();
        assert!(grad.iter().sum::<f32>().abs() < 1e-6, "{grad:?}");
        assert!(grad.iter().any(|x| x.abs() > 0.1));
    }
}

#[cfg(test)]
mod variant_tests {
    use super::*;
    use candle_core::{Device, Var};

    /// Gradient of the loss with respect to the predictions (and logits), for preds `p`.
    fn grads(kind: Loss, p: &[f32], logits: &[f32]) -> (f64, Vec<f32>, Vec<f32>) {
        let dev = Device::Cpu;
        let pv = Var::new(p, &dev).unwrap();
        let lv = Var::new(logits, &dev).unwrap();
        let y = Tensor::new(vec![0.5f32; p.len()].as_slice(), &dev).unwrap();
        let parts = compute(&kind, pv.as_tensor(), lv.as_tensor(), &y).unwrap();
        let bonus = parts.std_bonus.unwrap();
        let g = bonus.backward().unwrap();
        let get = |v: &Var| g.get(v.as_tensor()).map(|t| t.to_vec1().unwrap()).unwrap_or(vec![0.0; p.len()]);
        (bonus.to_scalar::<f32>().unwrap() as f64, get(&pv), get(&lv))
    }

    // preds [0.2, 0.4, 0.9]: torch.std = 0.360555
    const P: [f32; 3] = [0.2, 0.4, 0.9];

    #[test]
    fn capped_bonus_has_zero_gradient_above_the_cap_and_full_below() {
        let (b, g, _) = grads(Loss::MseSumMinusCappedStd { phi: 10.0, cap: 0.3 }, &P, &P);
        assert!((b - 3.0).abs() < 1e-5, "φ·cap = 3, got {b}");
        assert!(g.iter().all(|&x| x == 0.0), "{g:?}");
        let (b, g, _) = grads(Loss::MseSumMinusCappedStd { phi: 10.0, cap: 0.5 }, &P, &P);
        assert!((b - 3.60555).abs() < 1e-4);
        assert!(g.iter().any(|&x| x.abs() > 1.0), "{g:?}");
    }

    #[test]
    fn hinge_penalises_only_below_the_target() {
        let (b, g, _) = grads(Loss::MseSumHingeStd { phi: 10.0, target: 0.3 }, &P, &P);
        assert_eq!((b, g.iter().all(|&x| x == 0.0)), (0.0, true));
        let (b, g, _) = grads(Loss::MseSumHingeStd { phi: 10.0, target: 0.5 }, &P, &P);
        assert!((b + 10.0 * (0.5 - 0.360555)).abs() < 1e-4, "reward −φ(target − std), got {b}");
        assert!(g.iter().any(|&x| x.abs() > 1.0));
    }

    #[test]
    fn logit_std_rewards_spread_of_logits_not_of_predictions() {
        let logits = [-3.0f32, 0.0, 3.0];
        let (b, gp, gl) = grads(Loss::MseSumMinusLogitStd { phi: 1.0 }, &P, &logits);
        assert!((b - 3.0).abs() < 1e-5, "std of logits = 3, got {b}");
        assert!(gp.iter().all(|&x| x == 0.0));
        assert!(gl.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn mean_variant_divides_the_squared_error_by_n() {
        let y = Tensor::new(&[0.0f32, 0.5, 1.0], &Device::Cpu).unwrap();
        let p = Tensor::new(&P, &Device::Cpu).unwrap();
        let parts = compute(&Loss::MseMeanMinusStd { phi: 1.0 }, &p, &p, &y).unwrap();
        assert!((parts.mse.to_scalar::<f32>().unwrap() - 0.02).abs() < 1e-6);
        assert!((parts.total.to_scalar::<f32>().unwrap() as f64 - (0.02 - 0.360555)).abs() < 1e-5);
    }
}
