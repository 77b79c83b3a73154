//! Learning-rate schedules, as PyTorch's `ConstantLR`-free constant, `ExponentialLR`, `StepLR` and
//! `CosineAnnealingLR` compute them, stepped once per epoch (the seed calls `scheduler.step()`
//! after each epoch) or once per optimizer step.

use crate::config::resolved::{Per, Schedule};

/// The learning rate at step `step` with a linear warm-up over `warmup_steps` (as
/// `LinearLR(start_factor = 1/warmup)`: step s uses (s + 1)/warmup of the scheduled rate).
pub fn lr_with_warmup(schedule: &Schedule, base_lr: f64, step: u64, epoch: u64, warmup_steps: u64) -> f64 {
    let factor = if step < warmup_steps { (step + 1) as f64 / warmup_steps as f64 } else { 1.0 };
    factor * lr_at(schedule, base_lr, step, epoch)
}

/// The learning rate used at optimizer step `step` (0-based), in epoch `epoch`.
pub fn lr_at(schedule: &Schedule, base_lr: f64, step: u64, epoch: u64) -> f64 {
    let t = |per: Per| match per {
        Per::Epoch => epoch,
        Per::Step => step,
    };
    match *schedule {
        Schedule::Constant => base_lr,
        Schedule::Exponential { per, gamma } => base_lr * gamma.powf(t(per) as f64),
        Schedule::Step { per, gamma, step_size } => base_lr * gamma.powf((t(per) / step_size) as f64),
        Schedule::Cosine { per, t_max, min_lr } => {
            // torch's closed form; past t_max the cosine continues (it is periodic in 2·t_max).
            let phase = std::f64::consts::PI * t(per) as f64 / t_max as f64;
            min_lr + (base_lr - min_lr) * (1.0 + phase.cos()) / 2.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    // Expected sequences from torch.optim.lr_scheduler with lr = 0.1 (first 6 values).
    #[test]
    fn lr_sequences_match_torch() {
        let cases: &[(Schedule, [f64; 6])] = &[
            (Schedule::Constant, [0.1; 6]),
            (Schedule::Exponential { per: Per::Step, gamma: 0.9 }, [0.1, 0.09, 0.081, 0.0729, 0.06561, 0.059049]),
            (Schedule::Step { per: Per::Step, gamma: 0.5, step_size: 2 }, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
            (
                Schedule::Cosine { per: Per::Step, t_max: 4, min_lr: 0.0 },
                [0.1, 0.08535533905932738, 0.05, 0.014644660940672627, 0.0, 0.014644660940672622],
            ),
        ];
        for (s, want) in cases {
            for (step, w) in want.iter().enumerate() {
                let got = lr_at(s, 0.1, step as u64, 0);
                assert!(close(got, *w), "{s:?} step {step}: got {got}, want {w}");
            }
        }
    }

    #[test]
    fn per_epoch_schedules_only_change_between_epochs() {
        let s = Schedule::Exponential { per: Per::Epoch, gamma: 0.9 };
        assert_eq!(lr_at(&s, 5e-4, 0, 0), lr_at(&s, 5e-4, 99, 0));
        assert!(close(lr_at(&s, 5e-4, 100, 1), 4.5e-4));
        assert!(close(lr_at(&s, 5e-4, 250, 2), 5e-4 * 0.81));
    }

    #[test]
    fn warmup_ramps_linearly_then_hands_over_to_the_schedule() {
        let s = Schedule::Constant;
        let lrs: Vec<f64> = (0..6).map(|step| lr_with_warmup(&s, 0.1, step, 0, 4)).collect();
        let want = [0.025, 0.05, 0.075, 0.1, 0.1, 0.1];
        assert!(lrs.iter().zip(want).all(|(a, b)| close(*a, b)), "{lrs:?}");
        assert_eq!(lr_with_warmup(&s, 0.1, 0, 0, 0), 0.1);
    }
}
