//! SGD (with optional momentum and L2 weight decay) and AdamW, written out so that each step
//! also reports what the statistics need: per-group gradient norms, ‖Δθ‖/‖θ‖ and the number of
//! tensors that got no gradient. Update rules follow `torch.optim.SGD` and `torch.optim.AdamW`.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use crate::config::resolved::Optim;
use crate::model::params::ParamStore;

/// What one optimizer step measured.
#[derive(Debug, Clone, PartialEq)]
pub struct StepStats {
    /// Global L2 norm of the gradients, before the update.
    pub grad_norm: f64,
    /// L2 norm of the gradients of each parameter group, in `ParamStore::groups` order.
    pub group_norms: Vec<f64>,
    /// ‖Δθ‖ / ‖θ‖ over all parameters.
    pub update_ratio: f64,
    /// Trainable tensors whose gradient is missing or all zero.
    pub frozen_params: usize,
}

pub struct Optimizer {
    kind: Optim,
    /// Momentum buffer (SGD) or first moment (AdamW), per parameter.
    m: Vec<Option<Tensor>>,
    /// Second moment (AdamW), per parameter.
    v: Vec<Option<Tensor>>,
    t: i32,
}

fn sum_sq(x: &Tensor) -> Result<f64> {
    Ok(x.sqr()?.sum_all()?.to_scalar::<f32>()? as f64)
}

impl Optimizer {
    pub fn new(kind: Optim, n_params: usize) -> Optimizer {
        Optimizer { kind, m: vec![None; n_params], v: vec![None; n_params], t: 0 }
    }

    /// Applies one update with learning rate `lr`. Parameters without a gradient are left alone.
    /// With `clip`, gradients are first scaled so that their global norm is at most `clip`
    /// (as `torch.nn.utils.clip_grad_norm_`); the reported norms are those before clipping.
    /// Tensors that are not trainable are left alone and not counted.
    pub fn step(&mut self, ps: &ParamStore, grads: &GradStore, lr: f64, clip: Option<f64>) -> Result<StepStats> {
        self.t += 1;
        let mut group_sq = vec![0.0; ps.groups.len()];
        let mut frozen = 0usize;
        for p in ps.params.iter().filter(|p| p.trainable) {
            match grads.get(p.var.as_tensor()) {
                None => frozen += 1,
                Some(g) => {
                    let g_sq = sum_sq(g)?;
                    frozen += usize::from(g_sq == 0.0);
                    group_sq[p.group] += g_sq;
                }
            }
        }
        let grad_norm = group_sq.iter().sum::<f64>().sqrt();
        let scale = clip.map(|c| c / (grad_norm + 1e-6)).filter(|&s| s < 1.0);
        let (mut delta_sq, mut theta_sq) = (0.0, 0.0);
        for (i, p) in ps.params.iter().enumerate().filter(|(_, p)| p.trainable) {
            let theta = p.var.as_tensor();
            theta_sq += sum_sq(theta)?;
            let Some(g) = grads.get(theta) else { continue };
            let g = match scale {
                Some(s) => (g * s)?,
                None => g.clone(),
            };
            let delta = self.delta(i, theta, &g, lr)?;
            delta_sq += sum_sq(&delta)?;
            p.var.set(&(theta + delta)?)?;
        }
        Ok(StepStats {
            grad_norm,
            group_norms: group_sq.iter().map(|s| s.sqrt()).collect(),
            update_ratio: if theta_sq > 0.0 { (delta_sq / theta_sq).sqrt() } else { f64::NAN },
            frozen_params: frozen,
        })
    }

    /// Δθ for parameter `i` with gradient `g`.
    fn delta(&mut self, i: usize, theta: &Tensor, g: &Tensor, lr: f64) -> Result<Tensor> {
        match self.kind {
            Optim::Sgd { momentum, weight_decay, .. } => {
                let mut d = if weight_decay > 0.0 { (g + (theta * weight_decay)?)? } else { g.clone() };
                if momentum > 0.0 {
                    // torch: buf = μ·buf + g (buf = g on the first step), then d = buf.
                    d = match &self.m[i] {
                        Some(buf) => ((buf * momentum)? + d)?,
                        None => d,
                    };
                    self.m[i] = Some(d.clone());
                }
                d * (-lr)
            }
            Optim::Adamw { beta1, beta2, eps, weight_decay, .. } => {
                let m = match &self.m[i] {
                    Some(m) => ((m * beta1)? + (g * (1.0 - beta1))?)?,
                    None => (g * (1.0 - beta1))?,
                };
                let v = match &self.v[i] {
                    Some(v) => ((v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?,
                    None => (g.sqr()? * (1.0 - beta2))?,
                };
                let m_hat = (&m / (1.0 - beta1.powi(self.t)))?;
                let v_hat = (&v / (1.0 - beta2.powi(self.t)))?;
                self.m[i] = Some(m);
                self.v[i] = Some(v);
                let adam = (m_hat / (v_hat.sqrt()? + eps)?)?;
                // Decoupled decay: θ ← θ − lr·wd·θ − lr·adam.
                (theta * (-lr * weight_decay))? - (adam * lr)?
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn store(values: &[f32]) -> ParamStore {
        let mut ps = ParamStore::default();
        ps.add("w", "g", Tensor::new(values, &Device::Cpu).unwrap()).unwrap();
        ps
    }

    /// One step on the loss Σ wᵢ² (gradient 2w) and the parameter after it.
    fn one_step(kind: Optim, steps: usize) -> Vec<f32> {
        let ps = store(&[1.0, -2.0]);
        let mut opt = Optimizer::new(kind, 1);
        for _ in 0..steps {
            let w: &Var = &ps.params[0].var;
            let grads = w.as_tensor().sqr().unwrap().sum_all().unwrap().backward().unwrap();
            opt.step(&ps, &grads, 0.1, None).unwrap();
        }
        ps.params[0].var.as_tensor().to_vec1().unwrap()
    }

    // References from torch.optim with lr = 0.1 on loss = (w**2).sum(), w0 = [1, -2].
    #[test]
    fn updates_match_torch() {
        let sgd = Optim::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 };
        assert_eq!(one_step(sgd, 1), vec![0.8, -1.6]);
        // momentum 0.9, two steps: w1 = [0.8, -1.6]; buf = 0.9·[2, -4] + [1.6, -3.2] = [3.4, -6.8]
        let mom = Optim::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 };
        let w = one_step(mom, 2);
        assert!((w[0] - 0.46).abs() < 1e-6 && (w[1] + 0.92).abs() < 1e-6, "{w:?}");
        // AdamW, first step: m̂/√v̂ = sign(g) → w − 0.1·sign(g) − 0.1·0.01·w
        let adamw = Optim::Adamw { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 };
        let w = one_step(adamw, 1);
        assert!((w[0] - 0.899).abs() < 1e-5 && (w[1] + 1.898).abs() < 1e-5, "{w:?}");
    }

    #[test]
    fn reports_norms_ratio_and_frozen_tensors() {
        let mut ps = store(&[3.0, 4.0]);
        ps.add("unused", "other", Tensor::new(&[1.0f32], &Device::Cpu).unwrap()).unwrap();
        let grads = ps.params[0].var.as_tensor().sum_all().unwrap().backward().unwrap();
        let mut opt = Optimizer::new(Optim::Sgd { lr: 0.5, momentum: 0.0, weight_decay: 0.0 }, 2);
        let s = opt.step(&ps, &grads, 0.5, None).unwrap();
        assert!((s.grad_norm - 2f64.sqrt()).abs() < 1e-9);
        assert_eq!(s.group_norms.len(), 2);
        assert_eq!(s.group_norms[1], 0.0);
        assert_eq!(s.frozen_params, 1);
        // Δ = −0.5·[1, 1], ‖Δ‖ = 0.7071; ‖θ‖ = √(9 + 16 + 1) = 5.099
        assert!((s.update_ratio - 0.5f64.sqrt() / 26f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn clipping_bounds_the_global_norm_and_reports_the_norm_before() {
        // loss = Σ 50·w² at w = [3, 4]: gradient [300, 400], norm 500.
        let ps = store(&[3.0, 4.0]);
        let grads =
            (ps.params[0].var.as_tensor().sqr().unwrap() * 50.0).unwrap().sum_all().unwrap().backward().unwrap();
        let mut opt = Optimizer::new(Optim::Sgd { lr: 1.0, momentum: 0.0, weight_decay: 0.0 }, 1);
        let s = opt.step(&ps, &grads, 1.0, Some(1.0)).unwrap();
        assert!((s.grad_norm - 500.0).abs() < 1e-3);
        let w: Vec<f32> = ps.params[0].var.as_tensor().to_vec1().unwrap();
        let moved = ((3.0 - w[0]).powi(2) + (4.0 - w[1]).powi(2)).sqrt();
        assert!((moved - 1.0).abs() < 1e-4, "the update has the clipped norm 1, got {moved}");
        assert!((w[0] - 2.4).abs() < 1e-5 && (w[1] - 3.2).abs() < 1e-5, "direction kept: {w:?}");
    }

    #[test]
    fn frozen_tensors_are_not_updated_nor_counted() {
        let mut ps = store(&[1.0, 2.0]);
        ps.add("enc", "encoder", Tensor::new(&[5.0f32], &Device::Cpu).unwrap()).unwrap();
        ps.freeze_group("encoder");
        let grads = ps.params[0].var.as_tensor().sum_all().unwrap().backward().unwrap();
        let mut opt = Optimizer::new(Optim::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 }, 2);
        let s = opt.step(&ps, &grads, 0.1, None).unwrap();
        assert_eq!(s.frozen_params, 0);
        assert_eq!(ps.params[1].var.as_tensor().to_vec1::<f32>().unwrap(), vec![5.0]);
    }
}
