//! The validated, typed plan of one run, built from a [`RawConfig`]. Defaults are filled in,
//! impossible values are rejected with the key path, and keys that the chosen kind would
//! ignore are reported. Serialises back to TOML as the run's resolved `config.toml`.

use serde::Serialize;

use super::raw::{RawConfig, RawData, RawLoss, RawModel, RawOptim, RawSchedule, RawTrain};

/// One problem with a config: the dotted key and what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyError {
    pub key: String,
    pub msg: String,
}

fn err<T>(key: &str, msg: impl Into<String>) -> Result<T, KeyError> {
    Err(KeyError { key: key.to_string(), msg: msg.into() })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    pub seed: u64,
    pub model: ModelConfig,
    pub data: DataConfig,
    pub loss: Loss,
    pub optim: Optim,
    pub schedule: Schedule,
    pub train: TrainConfig,
    pub detect: DetectConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub intermediate_size: usize,
    pub max_position: usize,
    pub hidden_dropout: f64,
    pub attention_dropout: f64,
    pub layer_norm_eps: f64,
    pub init_std: f64,
    pub head_sizes: Vec<usize>,
    pub encoder_relu: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataConfig {
    Synthetic { seed: u64, n_train: usize, min_len: usize, max_len: usize, label_density: f64, masked_frac: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Loss {
    /// Σ (y − ŷ)² over loss tokens.
    MseSum,
    /// mean (y − ŷ)² over loss tokens.
    MseMean,
    /// Σ (y − ŷ)² − φ · std(ŷ), std unbiased like `torch.std`.
    MseSumMinusStd { phi: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Optim {
    Sgd { lr: f64, momentum: f64, weight_decay: f64 },
    Adamw { lr: f64, beta1: f64, beta2: f64, eps: f64, weight_decay: f64 },
}

impl Optim {
    pub fn lr(&self) -> f64 {
        match *self {
            Optim::Sgd { lr, .. } | Optim::Adamw { lr, .. } => lr,
        }
    }
}

impl DataConfig {
    /// Optimizer steps in one pass over the training set (the last batch may be short).
    pub fn steps_per_epoch(&self, batch_size: usize) -> u64 {
        let DataConfig::Synthetic { n_train, .. } = self;
        n_train.div_ceil(batch_size) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    Epoch,
    Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    Exponential { per: Per, gamma: f64 },
    Step { per: Per, gamma: f64, step_size: u64 },
    Cosine { per: Per, t_max: u64, min_lr: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainConfig {
    pub steps: u64,
    pub batch_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wall_s: Option<f64>,
    /// Injected failure, for testing how sweeps record them: `nan@STEP` or `panic@STEP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// A failure injected at a step (`train.fault`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The loss becomes NaN at this step.
    Nan(u64),
    /// Training panics at this step.
    Panic(u64),
}

impl Fault {
    pub fn parse(text: &str) -> Option<Fault> {
        let (kind, step) = text.split_once('@')?;
        let step = step.parse().ok()?;
        match kind {
            "nan" => Some(Fault::Nan(step)),
            "panic" => Some(Fault::Panic(step)),
            _ => None,
        }
    }
}

impl TrainConfig {
    pub fn fault(&self) -> Option<Fault> {
        self.fault.as_deref().and_then(Fault::parse)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectConfig {
    pub abs_floor: f64,
    pub rel_floor: f64,
    pub patience: u64,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig { abs_floor: 1e-4, rel_floor: 1e-3, patience: 100 }
    }
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
        let DataConfig::Synthetic { max_len, .. } = data;
        if max_len > model.max_position {
            return err(
                "data.max_len",
                format!("must be at most model.max_position = {} but got {max_len}", model.max_position),
            );
        }
        let detect = DetectConfig::default();
        let detect = DetectConfig {
            abs_floor: non_negative("detect.abs_floor", raw.detect.abs_floor.unwrap_or(detect.abs_floor))?,
            rel_floor: fraction("detect.rel_floor", raw.detect.rel_floor.unwrap_or(detect.rel_floor), true)?,
            patience: at_least("detect.patience", raw.detect.patience.unwrap_or(detect.patience), 1)?,
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
    Ok(ModelConfig {
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
    })
}

fn resolve_data(d: &RawData) -> Result<DataConfig, KeyError> {
    match d.kind.as_deref().unwrap_or("synthetic") {
        "synthetic" => {}
        other => return err("data.kind", format!("must be \"synthetic\" but got \"{other}\"")),
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

fn resolve_loss(l: &RawLoss) -> Result<Loss, KeyError> {
    let kind = l.kind.as_deref().unwrap_or("mse_sum_minus_std");
    match kind {
        "mse_sum" => unused("loss.phi", &l.phi, "loss.kind", kind).map(|_| Loss::MseSum),
        "mse_mean" => unused("loss.phi", &l.phi, "loss.kind", kind).map(|_| Loss::MseMean),
        "mse_sum_minus_std" => Ok(Loss::MseSumMinusStd { phi: non_negative("loss.phi", l.phi.unwrap_or(100.0))? }),
        other => err(
            "loss.kind",
            format!("must be one of \"mse_sum\", \"mse_mean\", \"mse_sum_minus_std\" but got \"{other}\""),
        ),
    }
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
                    Per::Epoch => train.steps.div_ceil(data.steps_per_epoch(train.batch_size)),
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
    Ok(TrainConfig {
        steps: at_least("train.steps", t.steps.unwrap_or(2000), 1)?,
        batch_size: at_least("train.batch_size", t.batch_size.unwrap_or(1) as u64, 1)? as usize,
        max_wall_s,
        fault: t.fault.clone(),
    })
}
