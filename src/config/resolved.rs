//! The validated, typed plan of one run (built by [`super::resolve`] from the raw file). It
//! serialises back to TOML as the run's resolved `config.toml`, which is also a valid
//! experiment file.

use serde::Serialize;

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

/// Serialised by hand (below): with `pretrained` the architecture comes from the checkpoint,
/// so its keys are left out and the written config stays a valid experiment file.
#[derive(Debug, Clone, PartialEq)]
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
    pub head_activation: Activation,
    /// Slope for negative inputs; only with `head_activation = "leaky_relu"`.
    pub leaky_slope: Option<f64>,
    pub head_init_scale: f64,
    pub freeze_encoder: bool,
    /// Start the encoder from this checkpoint (its config.json replaces the architecture keys).
    pub pretrained: Option<String>,
    pub revision: Option<String>,
    pub cache_dir: Option<String>,
}

impl Serialize for ModelConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Field order as declared: the run id hashes this text.
        #[derive(Serialize)]
        struct Repr<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            vocab_size: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            hidden_size: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            num_layers: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            num_heads: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            intermediate_size: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            max_position: Option<usize>,
            hidden_dropout: f64,
            attention_dropout: f64,
            #[serde(skip_serializing_if = "Option::is_none")]
            layer_norm_eps: Option<f64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            init_std: Option<f64>,
            head_sizes: &'a [usize],
            encoder_relu: bool,
            head_activation: Activation,
            #[serde(skip_serializing_if = "Option::is_none")]
            leaky_slope: Option<f64>,
            head_init_scale: f64,
            freeze_encoder: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            pretrained: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            revision: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            cache_dir: Option<&'a str>,
        }
        let own = self.pretrained.is_none(); // architecture keys are ours, not the checkpoint's
        Repr {
            vocab_size: own.then_some(self.vocab_size),
            hidden_size: own.then_some(self.hidden_size),
            num_layers: own.then_some(self.num_layers),
            num_heads: own.then_some(self.num_heads),
            intermediate_size: own.then_some(self.intermediate_size),
            max_position: own.then_some(self.max_position),
            hidden_dropout: self.hidden_dropout,
            attention_dropout: self.attention_dropout,
            layer_norm_eps: own.then_some(self.layer_norm_eps),
            init_std: own.then_some(self.init_std),
            head_sizes: &self.head_sizes,
            encoder_relu: self.encoder_relu,
            head_activation: self.head_activation,
            leaky_slope: self.leaky_slope,
            head_init_scale: self.head_init_scale,
            freeze_encoder: self.freeze_encoder,
            pretrained: self.pretrained.as_deref(),
            revision: self.revision.as_deref(),
            cache_dir: self.cache_dir.as_deref(),
        }
        .serialize(s)
    }
}

/// Activation of the head's hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    LeakyRelu,
    /// Exact (erf) GELU.
    Gelu,
    /// ELU with α = 1.
    Elu,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataConfig {
    Synthetic { seed: u64, n_train: usize, min_len: usize, max_len: usize, label_density: f64, masked_frac: f64 },
    Jsonl(FileData),
    Parquet(FileData),
}

/// A user data file (src/data/files.rs), split into training and validation sequences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileData {
    pub path: String,
    /// Seed of the split.
    pub seed: u64,
    /// Share of sequences held out for validation (0: none).
    pub val_frac: f64,
    /// Validation metrics every this many steps, and at the last step.
    pub val_every: u64,
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
    /// mean (y − ŷ)² − φ · std(ŷ).
    MseMeanMinusStd { phi: f64 },
    /// Σ (y − ŷ)² − φ · min(std(ŷ), cap): no reward for spreading beyond `cap`.
    MseSumMinusCappedStd { phi: f64, cap: f64 },
    /// Σ (y − ŷ)² + φ · max(0, target − std(ŷ)): a penalty only while std is below `target`.
    MseSumHingeStd { phi: f64, target: f64 },
    /// Σ (y − ŷ)² − φ · std(logits): diversity before the sigmoid, which cannot saturate it.
    MseSumMinusLogitStd { phi: f64 },
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
    /// Optimizer steps in one pass over the training set (the last batch may be short);
    /// `None` for data files, whose size is known only once read.
    pub fn steps_per_epoch(&self, batch_size: usize) -> Option<u64> {
        match self {
            DataConfig::Synthetic { n_train, .. } => Some(n_train.div_ceil(batch_size) as u64),
            DataConfig::Jsonl(_) | DataConfig::Parquet(_) => None,
        }
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
    /// Clip the global gradient norm to this before the update (`None`: no clipping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad_norm: Option<f64>,
    /// Linear learning-rate warm-up over this many steps (0: none).
    pub warmup_steps: u64,
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
    /// Stop training this many steps after a collapse is confirmed (`None`: train to the end).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_after: Option<u64>,
}

impl DetectConfig {
    /// The collapse floor for a running peak of pred_std: `max(abs_floor, rel_floor · peak)`.
    pub fn floor(&self, peak: f64) -> f64 {
        self.abs_floor.max(self.rel_floor * peak.max(0.0))
    }
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig { abs_floor: 1e-4, rel_floor: 1e-3, patience: 100, stop_after: None }
    }
}
