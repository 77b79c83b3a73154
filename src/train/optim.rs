//! SGD (with optional momentum and L2 weight decay) and AdamW, written out so that each step
//! also reports what the statistics need: per-group gradient norms, ‖Δθ‖/‖θ‖ and the number of
//! tensors that got no gradient. Update rules follow `torch.optim.SGD` and `torch.optim.AdamW`.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor};

use std::cell::{Cell, RefCell};

use crate::config::resolved::Optim;
use crate::model::params::ParamStore;
use crate::train::update::{host_sum_sq, HostUpdate, Rule};

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
    /// Momentum buffer (SGD) or first moment (AdamW), per parameter (tensor version).
    m: Vec<Option<Tensor>>,
    /// Second moment (AdamW), per parameter (tensor version).
    v: Vec<Option<Tensor>>,
    /// The same buffers for the in-place CPU version ([`HostUpdate`]); empty until used.
    host_m: Vec<Vec<f32>>,
    host_v: Vec<Vec<f32>>,
    /// Scratch for Δθ of the in-place version.
    scratch: Vec<f32>,
    /// Update CPU tensors in place (false: the tensor version everywhere, for tests).
    in_place: bool,
    t: i32,
}

fn sum_sq(x: &Tensor) -> Result<f64> {
    match host_sum_sq(x) {
        Some(s) => Ok(s),
        None => Ok(x.sqr()?.sum_all()?.to_scalar::<f32>()? as f64),
    }
}

/// The factor that brings a gradient of norm `norm` down to the clip norm (None: no clipping).
fn clip_scale(clip: Option<f64>, norm: f64) -> Option<f64> {
    clip.map(|c| c / (norm + 1e-6)).filter(|&s| s < 1.0)
}

impl Optimizer {
    pub fn new(kind: Optim, n_params: usize) -> Optimizer {
        Optimizer {
            kind,
            m: vec![None; n_params],
            v: vec![None; n_params],
            host_m: vec![Vec::new(); n_params],
            host_v: vec![Vec::new(); n_params],
            scratch: Vec::new(),
            in_place: true,
            t: 0,
        }
    }

    /// Applies one update with learning rate `lr`. Parameters without a gradient are left alone.
    /// With `clip`, gradients are first scaled so that their global norm is at most `clip`
    /// (as `torch.nn.utils.clip_grad_norm_`); the reported norms are those before clipping.
    /// Tensors that are not trainable are left alone and not counted.
    pub fn step(&mut self, ps: &ParamStore, grads: &GradStore, lr: f64, clip: Option<f64>) -> Result<StepStats> {
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
        let (delta_sq, theta_sq) = self.apply(ps, grads, lr, clip_scale(clip, grad_norm), true)?;
        Ok(StepStats {
            grad_norm,
            group_norms: group_sq.iter().map(|s| s.sqrt()).collect(),
            update_ratio: if theta_sq > 0.0 { (delta_sq / theta_sq).sqrt() } else { f64::NAN },
            frozen_params: frozen,
        })
    }

    /// The same update as [`Optimizer::step`] without measuring anything it does not need
    /// (the gradient norm only when clipping): a plain training step, to time the statistics.
    pub fn update(&mut self, ps: &ParamStore, grads: &GradStore, lr: f64, clip: Option<f64>) -> Result<()> {
        let scale = match clip {
            None => None,
            Some(_) => {
                let mut sq = 0.0;
                for p in ps.params.iter().filter(|p| p.trainable) {
                    if let Some(g) = grads.get(p.var.as_tensor()) {
                        sq += sum_sq(g)?;
                    }
                }
                clip_scale(clip, sq.sqrt())
            }
        };
        self.apply(ps, grads, lr, scale, false).map(|_| ())
    }

    /// Updates every trainable parameter that has a gradient (scaled by `scale` when clipping);
    /// with `measure`, returns (‖Δθ‖², ‖θ‖²), else zeros.
    fn apply(
        &mut self,
        ps: &ParamStore,
        grads: &GradStore,
        lr: f64,
        scale: Option<f64>,
        measure: bool,
    ) -> Result<(f64, f64)> {
        self.t += 1;
        let (mut delta_sq, mut theta_sq) = (0.0, 0.0);
        for (i, p) in ps.params.iter().enumerate().filter(|(_, p)| p.trainable) {
            let theta = p.var.as_tensor();
            if measure {
                theta_sq += sum_sq(theta)?;
            }
            let Some(g) = grads.get(theta) else { continue };
            if self.in_place && theta.device().is_cpu() && g.is_contiguous() {
                let update = HostUpdate {
                    rule: self.rule(lr),
                    scale: scale.map(|s| s as f32),
                    m: RefCell::new(&mut self.host_m[i]),
                    v: RefCell::new(&mut self.host_v[i]),
                    delta: RefCell::new(&mut self.scratch),
                    measure,
                    delta_sq: Cell::new(0.0),
                };
                theta.inplace_op2(g, &update)?;
                delta_sq += update.delta_sq.get();
                continue;
            }
            let g = match scale {
                Some(s) => (g * s)?,
                None => g.clone(),
            };
            let delta = self.delta(i, theta, &g, lr)?;
            if measure {
                delta_sq += sum_sq(&delta)?;
            }
            p.var.set(&(theta + delta)?)?;
        }
        Ok((delta_sq, theta_sq))
    }

    /// This step's constants for [`HostUpdate`], rounded to f32 as the tensor version rounds them.
    fn rule(&self, lr: f64) -> Rule {
        match self.kind {
            Optim::Sgd { momentum, weight_decay, .. } => {
                Rule::Sgd { lr: lr as f32, momentum: momentum as f32, weight_decay: weight_decay as f32 }
            }
            Optim::Adamw { beta1, beta2, eps, weight_decay, .. } => Rule::Adamw {
                lr: lr as f32,
                beta1: beta1 as f32,
                beta2: beta2 as f32,
                one_b1: (1.0 - beta1) as f32,
                one_b2: (1.0 - beta2) as f32,
                eps: eps as f32,
                decay: (-lr * weight_decay) as f32,
                inv_c1: (1.0 / (1.0 - beta1.powi(self.t))) as f32,
                inv_c2: (1.0 / (1.0 - beta2.powi(self.t))) as f32,
            },
        }
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

    #[test]
    fn update_without_statistics_moves_parameters_exactly_like_step() {
        let kinds = [
            Optim::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.01 },
            Optim::Adamw { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
        ];
        for kind in kinds {
            for clip in [None, Some(1.0)] {
                let (a, b) = (store(&[3.0, -4.0]), store(&[3.0, -4.0]));
                let (mut oa, mut ob) = (Optimizer::new(kind, 1), Optimizer::new(kind, 1));
                for _ in 0..3 {
                    let ga = (a.params[0].var.as_tensor().sqr().unwrap() * 50.0).unwrap().sum_all().unwrap();
                    let gb = (b.params[0].var.as_tensor().sqr().unwrap() * 50.0).unwrap().sum_all().unwrap();
                    oa.step(&a, &ga.backward().unwrap(), 0.1, clip).unwrap();
                    ob.update(&b, &gb.backward().unwrap(), 0.1, clip).unwrap();
                }
                let wa: Vec<f32> = a.params[0].var.as_tensor().to_vec1().unwrap();
                let wb: Vec<f32> = b.params[0].var.as_tensor().to_vec1().unwrap();
                assert_eq!(wa, wb, "{kind:?} clip {clip:?}");
                assert_ne!(wa, vec![3.0, -4.0]);
            }
        }
    }

    #[test]
    fn in_place_cpu_update_matches_the_tensor_version() {
        let kinds = [
            Optim::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 },
            Optim::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.01 },
            Optim::Adamw { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 },
        ];
        let init: Vec<f32> = (0..37).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        for kind in kinds {
            for clip in [None, Some(0.5)] {
                let (a, b) = (store(&init), store(&init));
                let (mut fast, mut plain) = (Optimizer::new(kind, 1), Optimizer::new(kind, 1));
                plain.in_place = false;
                for step in 0..4 {
                    let loss = |ps: &ParamStore| {
                        let w = ps.params[0].var.as_tensor();
                        (w.sqr().unwrap() * 3.0).unwrap().sum_all().unwrap().backward().unwrap()
                    };
                    let sa = fast.step(&a, &loss(&a), 0.1, clip).unwrap();
                    let sb = plain.step(&b, &loss(&b), 0.1, clip).unwrap();
                    let wa: Vec<f32> = a.params[0].var.as_tensor().to_vec1().unwrap();
                    let wb: Vec<f32> = b.params[0].var.as_tensor().to_vec1().unwrap();
                    for (x, y) in wa.iter().zip(&wb) {
                        assert!((x - y).abs() <= 1e-6 * y.abs().max(1.0), "{kind:?} {clip:?} step {step}: {x} vs {y}");
                    }
                    assert!((sa.update_ratio - sb.update_ratio).abs() <= 1e-5 * sb.update_ratio, "{kind:?}");
                    assert!((sa.grad_norm - sb.grad_norm).abs() <= 1e-5 * sb.grad_norm, "{kind:?}");
                }
            }
        }
    }
}
