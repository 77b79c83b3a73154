//! Validation: turns a [`RawConfig`] into a [`RunConfig`]. Defaults are filled in, impossible
//! values are rejected with the key path, and keys that the chosen kind would ignore are
//! reported (a key that is parsed but ignored would be a silent bug).

use super::raw::{RawConfig, RawData, RawLoss, RawModel, RawOptim, RawSchedule, RawTrain};
use super::resolved::{
    Activation, DataConfig, DetectConfig, Fault, FileData, Loss, ModelConfig, Optim, Per, RunConfig, Schedule,
    TrainConfig,
};

/// One problem with a config: the dotted key and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    pub key: String,
    pub msg: String,
}

fn err<T>(key: &str, msg: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError { key: key.to_string(), msg: msg.into() })
}

fn positive(key: &str, v: f64) -> Result<f64, KeyError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        err(key, format!("must be > 0 but got {v}"))
    }
}

fn non_negative(key: &str, v: f64) -> Result<f64, KeyError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        err(key, format!("must be >= 0 but got {v}"))
    }
}

fn fraction(key: &str, v: f64, upper_inclusive: bool) -> Result<f64, KeyError> {
    let ok = v >= 0.0 && (v < 1.0 || (upper_inclusive && v <= 1.0));
    let bound = if upper_inclusive { "[0, 1]" } else { "[0, 1)" };
    if ok {
        Ok(v)
    } else {
        err(key, format!("must be in {bound} but got {v}"))
    }
}

fn at_least(key: &str, v: u64, min: u64) -> Result<u64, KeyError> {
    if v >= min {
        Ok(v)
    } else {
        err(key, format!("must be at least {min} but got {v}"))
    }
}

/// Rejects a key that the chosen `kind` would silently ignore.
fn unused<T>(key: &str, v: &Option<T>, kind_key: &str, kind: &str) -> Result<(), KeyError> {
    match v {
        Some(_) => err(key, format!("is not used when {kind_key} = \"{kind}\"; remove it")),
        None => Ok(()),
    }
}

impl RunConfig {
    /// Validates `raw` and fills in defaults. The first problem found is returned.
    pub fn resolve(raw: &RawConfig) -> Result<RunConfig, KeyError> {
        let train = resolve_train(&raw.train)?;
        let data = resolve_data(&raw.data)?;
        let model = resolve_model(&raw.model)?;
        if let DataConfig::Synthetic { max_len, .. } = data {
            if model.pretrained.is_some() {
                return err(
                    "data.kind",
                    "must be \"jsonl\" or \"parquet\" with model.pretrained (synthetic ids ignore its vocabulary)",
                );
            }
            if max_len > model.max_position {
                return err(
                    "data.max_len",
                    format!("must be at most model.max_position = {} but got {max_len}", model.max_position),
                );
            }
        }
        let detect = DetectConfig::default();
        let detect = DetectConfig {
            abs_floor: non_negative("detect.abs_floor", raw.detect.abs_floor.unwrap_or(detect.abs_floor))?,
            rel_floor: fraction("detect.rel_floor", raw.detect.rel_floor.unwrap_or(detect.rel_floor), true)?,
            patience: at_least("detect.patience", raw.detect.patience.unwrap_or(detect.patience), 1)?,
            stop_after: raw.detect.stop_after,
        };
        Ok(RunConfig {
            seed: raw.seed.unwrap_or(0),
            model,
            loss: resolve_loss(&raw.loss)?,
            optim: resolve_optim(&raw.optim)?,
            schedule: resolve_schedule(&raw.schedule, &train, &data)?,
            data,
            train,
            detect,
        })
    }

    /// The resolved config as TOML: what `runs/RUN_ID/config.toml` holds and the run id hashes.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a resolved config always serialises")
    }
}

fn resolve_model(m: &RawModel) -> Result<ModelConfig, KeyError> {
    let hidden = at_least("model.hidden_size", m.hidden_size.unwrap_or(64) as u64, 1)? as usize;
    let heads = at_least("model.num_heads", m.num_heads.unwrap_or(4) as u64, 1)? as usize;
    if !hidden.is_multiple_of(heads) {
        return err("model.num_heads", format!("must divide model.hidden_size = {hidden} but got {heads}"));
    }
    let head_sizes =
        m.head_sizes.clone().unwrap_or_else(|| vec![(hidden / 2).max(8), (hidden / 8).max(4), (hidden / 16).max(4)]);
    if let Some(i) = head_sizes.iter().position(|&s| s == 0) {
        return err(&format!("model.head_sizes[{i}]"), "must be at least 1 but got 0");
    }
    let name = m.head_activation.as_deref().unwrap_or("relu");
    let activation = match name {
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu,
        "gelu" => Activation::Gelu,
        "elu" => Activation::Elu,
        other => {
            return err(
                "model.head_activation",
                format!("must be one of \"relu\", \"leaky_relu\", \"gelu\", \"elu\" but got \"{other}\""),
            )
        }
    };
    let leaky_slope = match activation {
        Activation::LeakyRelu => Some(fraction("model.leaky_slope", m.leaky_slope.unwrap_or(0.01), false)?),
        _ => unused("model.leaky_slope", &m.leaky_slope, "model.head_activation", name).map(|_| None)?,
    };
    if m.pretrained.is_none() {
        unused("model.revision", &m.revision, "model.pretrained", "(not set)")?;
        unused("model.cache_dir", &m.cache_dir, "model.pretrained", "(not set)")?;
    } else {
        // The checkpoint's config.json fixes the architecture.
        let arch = [
            ("model.vocab_size", m.vocab_size.is_some()),
            ("model.hidden_size", m.hidden_size.is_some()),
            ("model.num_layers", m.num_layers.is_some()),
            ("model.num_heads", m.num_heads.is_some()),
            ("model.intermediate_size", m.intermediate_size.is_some()),
            ("model.max_position", m.max_position.is_some()),
            ("model.layer_norm_eps", m.layer_norm_eps.is_some()),
            ("model.init_std", m.init_std.is_some()),
        ];
        if let Some((key, _)) = arch.iter().find(|(_, set)| *set) {
            return err(key, "is not used with model.pretrained (the checkpoint's config.json sets it); remove it");
        }
        if m.head_sizes.is_none() {
            return err("model.head_sizes", "must be given with model.pretrained (its default depends on hidden_size)");
        }
    }
    Ok(ModelConfig {
        pretrained: m.pretrained.clone(),
        revision: m.revision.clone(),
        cache_dir: m.cache_dir.clone(),
        vocab_size: at_least("model.vocab_size", m.vocab_size.unwrap_or(30) as u64, 2)? as usize,
        hidden_size: hidden,
        num_layers: at_least("model.num_layers", m.num_layers.unwrap_or(2) as u64, 1)? as usize,
        num_heads: heads,
        intermediate_size: at_least("model.intermediate_size", m.intermediate_size.unwrap_or(4 * hidden) as u64, 1)?
            as usize,
        max_position: at_least("model.max_position", m.max_position.unwrap_or(512) as u64, 1)? as usize,
        hidden_dropout: fraction("model.hidden_dropout", m.hidden_dropout.unwrap_or(0.1), false)?,
        attention_dropout: fraction("model.attention_dropout", m.attention_dropout.unwrap_or(0.1), false)?,
        layer_norm_eps: positive("model.layer_norm_eps", m.layer_norm_eps.unwrap_or(1e-12))?,
        init_std: positive("model.init_std", m.init_std.unwrap_or(0.02))?,
        head_sizes,
        encoder_relu: m.encoder_relu.unwrap_or(true),
        head_activation: activation,
        leaky_slope,
        head_init_scale: positive("model.head_init_scale", m.head_init_scale.unwrap_or(1.0))?,
        freeze_encoder: m.freeze_encoder.unwrap_or(false),
    })
}

fn resolve_data(d: &RawData) -> Result<DataConfig, KeyError> {
    let kind = d.kind.as_deref().unwrap_or("synthetic");
    match kind {
        "synthetic" => {
            unused("data.path", &d.path, "data.kind", kind)?;
            unused("data.val_frac", &d.val_frac, "data.kind", kind)?;
            unused("data.val_every", &d.val_every, "data.kind", kind)?;
        }
        "jsonl" | "parquet" => {
            for (key, set) in [
                ("data.n_train", d.n_train.is_some()),
                ("data.min_len", d.min_len.is_some()),
                ("data.max_len", d.max_len.is_some()),
                ("data.label_density", d.label_density.is_some()),
                ("data.masked_frac", d.masked_frac.is_some()),
            ] {
                if set {
                    return err(key, format!("is not used when data.kind = \"{kind}\"; remove it"));
                }
            }
            let Some(path) = d.path.clone() else {
                return err("data.path", format!("must be given with data.kind = \"{kind}\""));
            };
            let val_frac = fraction("data.val_frac", d.val_frac.unwrap_or(0.1), false)?;
            if val_frac == 0.0 {
                unused("data.val_every", &d.val_every, "data.val_frac", "0")?;
            }
            let file = FileData {
                path,
                seed: d.seed.unwrap_or(0),
                val_frac,
                val_every: at_least("data.val_every", d.val_every.unwrap_or(50), 1)?,
            };
            return Ok(if kind == "jsonl" { DataConfig::Jsonl(file) } else { DataConfig::Parquet(file) });
        }
        other => {
            return err(
                "data.kind",
                format!("must be one of \"synthetic\", \"jsonl\", \"parquet\" but got \"{other}\""),
            )
        }
    }
    let min_len = at_least("data.min_len", d.min_len.unwrap_or(16) as u64, 2)? as usize;
    let max_len = d.max_len.unwrap_or(64);
    if max_len < min_len {
        return err("data.max_len", format!("must be at least data.min_len = {min_len} but got {max_len}"));
    }
    Ok(DataConfig::Synthetic {
        seed: d.seed.unwrap_or(0),
        n_train: at_least("data.n_train", d.n_train.unwrap_or(256) as u64, 1)? as usize,
        min_len,
        max_len,
        label_density: fraction("data.label_density", d.label_density.unwrap_or(0.3), true)?,
        masked_frac: fraction("data.masked_frac", d.masked_frac.unwrap_or(0.1), false)?,
    })
}

/// Loss kinds and the keys each one reads besides `kind`.
const LOSS_KINDS: [(&str, &[&str]); 7] = [
    ("mse_sum", &[]),
    ("mse_mean", &[]),
    ("mse_sum_minus_std", &["phi"]),
    ("mse_mean_minus_std", &["phi"]),
    ("mse_sum_minus_capped_std", &["phi", "cap"]),
    ("mse_sum_hinge_std", &["phi", "target"]),
    ("mse_sum_minus_logit_std", &["phi"]),
];

fn resolve_loss(l: &RawLoss) -> Result<Loss, KeyError> {
    let kind = l.kind.as_deref().unwrap_or("mse_sum_minus_std");
    let Some((_, keys)) = LOSS_KINDS.iter().find(|(k, _)| *k == kind) else {
        let names: Vec<String> = LOSS_KINDS.iter().map(|(k, _)| format!("\"{k}\"")).collect();
        return err("loss.kind", format!("must be one of {} but got \"{kind}\"", names.join(", ")));
    };
    for (key, set) in [("phi", l.phi.is_some()), ("cap", l.cap.is_some()), ("target", l.target.is_some())] {
        if set && !keys.contains(&key) {
            return err(&format!("loss.{key}"), format!("is not used when loss.kind = \"{kind}\"; remove it"));
        }
    }
    let phi = || non_negative("loss.phi", l.phi.unwrap_or(100.0));
    Ok(match kind {
        "mse_sum" => Loss::MseSum,
        "mse_mean" => Loss::MseMean,
        "mse_sum_minus_std" => Loss::MseSumMinusStd { phi: phi()? },
        "mse_mean_minus_std" => Loss::MseMeanMinusStd { phi: phi()? },
        "mse_sum_minus_capped_std" => {
            Loss::MseSumMinusCappedStd { phi: phi()?, cap: positive("loss.cap", l.cap.unwrap_or(0.2))? }
        }
        "mse_sum_hinge_std" => {
            Loss::MseSumHingeStd { phi: phi()?, target: positive("loss.target", l.target.unwrap_or(0.2))? }
        }
        _ => Loss::MseSumMinusLogitStd { phi: phi()? },
    })
}

fn resolve_optim(o: &RawOptim) -> Result<Optim, KeyError> {
    let kind = o.kind.as_deref().unwrap_or("sgd");
    let lr = positive("optim.lr", o.lr.unwrap_or(5e-4))?;
    let weight_decay = non_negative("optim.weight_decay", o.weight_decay.unwrap_or(0.0))?;
    match kind {
        "sgd" => {
            unused("optim.beta1", &o.beta1, "optim.kind", kind)?;
            unused("optim.beta2", &o.beta2, "optim.kind", kind)?;
            unused("optim.eps", &o.eps, "optim.kind", kind)?;
            let momentum = fraction("optim.momentum", o.momentum.unwrap_or(0.0), false)?;
            Ok(Optim::Sgd { lr, momentum, weight_decay })
        }
        "adamw" => {
            unused("optim.momentum", &o.momentum, "optim.kind", kind)?;
            Ok(Optim::Adamw {
                lr,
                beta1: fraction("optim.beta1", o.beta1.unwrap_or(0.9), false)?,
                beta2: fraction("optim.beta2", o.beta2.unwrap_or(0.999), false)?,
                eps: positive("optim.eps", o.eps.unwrap_or(1e-8))?,
                weight_decay,
            })
        }
        other => err("optim.kind", format!("must be \"sgd\" or \"adamw\" but got \"{other}\"")),
    }
}

fn resolve_schedule(s: &RawSchedule, train: &TrainConfig, data: &DataConfig) -> Result<Schedule, KeyError> {
    let kind = s.kind.as_deref().unwrap_or("exponential");
    let per = match s.per.as_deref().unwrap_or("epoch") {
        "epoch" => Per::Epoch,
        "step" => Per::Step,
        other => return err("schedule.per", format!("must be \"epoch\" or \"step\" but got \"{other}\"")),
    };
    let gamma = |default: f64| -> Result<f64, KeyError> {
        let g = positive("schedule.gamma", s.gamma.unwrap_or(default))?;
        if g > 1.0 {
            return err("schedule.gamma", format!("must be in (0, 1] but got {g}"));
        }
        Ok(g)
    };
    let no = |key: &str, v: bool| {
        if v {
            err(key, format!("is not used when schedule.kind = \"{kind}\"; remove it"))
        } else {
            Ok(())
        }
    };
    no("schedule.gamma", s.gamma.is_some() && matches!(kind, "constant" | "cosine"))?;
    no("schedule.step_size", s.step_size.is_some() && kind != "step")?;
    no("schedule.t_max", s.t_max.is_some() && kind != "cosine")?;
    no("schedule.min_lr", s.min_lr.is_some() && kind != "cosine")?;
    no("schedule.per", s.per.is_some() && kind == "constant")?;
    match kind {
        "constant" => Ok(Schedule::Constant),
        "exponential" => Ok(Schedule::Exponential { per, gamma: gamma(0.9)? }),
        "step" => Ok(Schedule::Step {
            per,
            gamma: gamma(0.1)?,
            step_size: at_least("schedule.step_size", s.step_size.unwrap_or(10), 1)?,
        }),
        "cosine" => Ok(Schedule::Cosine {
            per,
            // Default period: the whole run, counted in the unit the schedule steps in.
            t_max: at_least(
                "schedule.t_max",
                s.t_max.unwrap_or(match per {
                    Per::Step => train.steps,
                    Per::Epoch => match data.steps_per_epoch(train.batch_size) {
                        Some(n) => train.steps.div_ceil(n),
                        None => {
                            return err("schedule.t_max", "must be given with a data file and schedule.per = \"epoch\"")
                        }
                    },
                }),
                1,
            )?,
            min_lr: non_negative("schedule.min_lr", s.min_lr.unwrap_or(0.0))?,
        }),
        other => err(
            "schedule.kind",
            format!("must be one of \"constant\", \"exponential\", \"step\", \"cosine\" but got \"{other}\""),
        ),
    }
}

fn resolve_train(t: &RawTrain) -> Result<TrainConfig, KeyError> {
    let max_wall_s = match t.max_wall_s {
        Some(v) => Some(positive("train.max_wall_s", v)?),
        None => None,
    };
    if let Some(f) = &t.fault {
        if Fault::parse(f).is_none() {
            return err("train.fault", format!("must be \"nan@STEP\" or \"panic@STEP\" but got \"{f}\""));
        }
    }
    let clip_grad_norm = match t.clip_grad_norm {
        Some(v) => Some(positive("train.clip_grad_norm", v)?),
        None => None,
    };
    Ok(TrainConfig {
        steps: at_least("train.steps", t.steps.unwrap_or(2000), 1)?,
        batch_size: at_least("train.batch_size", t.batch_size.unwrap_or(1) as u64, 1)? as usize,
        clip_grad_norm,
        warmup_steps: t.warmup_steps.unwrap_or(0),
        max_wall_s,
        fault: t.fault.clone(),
    })
}
