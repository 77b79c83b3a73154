//! The experiment file as written: serde structs that reject unknown keys and wrong types.
//! Every default below is the seed's recipe scaled to a CPU (see `../shared/SEED.md`).
//! Keys that only some kinds use are `Option`s here; [`crate::config::resolved`] turns this into
//! a typed plan and rejects keys that the chosen kind would ignore.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Seed of initialisation, dropout and batch order (the dataset has its own `data.seed`).
    pub seed: Option<u64>,
    #[serde(default)]
    pub model: RawModel,
    #[serde(default)]
    pub data: RawData,
    #[serde(default)]
    pub loss: RawLoss,
    #[serde(default)]
    pub optim: RawOptim,
    #[serde(default)]
    pub schedule: RawSchedule,
    #[serde(default)]
    pub train: RawTrain,
    #[serde(default)]
    pub detect: RawDetect,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub vocab_size: Option<usize>,        // token ids 0..vocab_size; 0 is padding
    pub hidden_size: Option<usize>,       // ProtBert: 1024
    pub num_layers: Option<usize>,        // ProtBert: 30
    pub num_heads: Option<usize>,         // must divide hidden_size
    pub intermediate_size: Option<usize>, // default 4 × hidden_size
    pub max_position: Option<usize>,      // longest sequence the position table holds
    pub hidden_dropout: Option<f64>,      // BERT's hidden_dropout_prob
    pub attention_dropout: Option<f64>,   // BERT's attention_probs_dropout_prob
    pub layer_norm_eps: Option<f64>,      // BERT's layer_norm_eps
    pub init_std: Option<f64>,            // BERT's initializer_range
    pub head_sizes: Option<Vec<usize>>,   // hidden ReLU layers of the head; default H/2, H/8, H/16 (at least 8, 4, 4)
    pub encoder_relu: Option<bool>,       // ReLU on the encoder output, as in the seed
    pub head_activation: Option<String>,  // relu (the seed) | leaky_relu | gelu | elu
    pub leaky_slope: Option<f64>,         // leaky_relu only: slope for negative inputs
    pub head_init_scale: Option<f64>,     // multiplies PyTorch's default head init bound 1/sqrt(fan_in)
    pub freeze_encoder: Option<bool>,     // train the head only
    pub pretrained: Option<String>, // checkpoint: a local folder, or a hub repo id read offline from the hf-hub cache
    pub revision: Option<String>,   // pretrained hub id only: ref or commit in the cache (default "main")
    pub cache_dir: Option<String>, // pretrained hub id only: hf-hub cache (default HF_HUB_CACHE, HF_HOME/hub, ~/.cache/huggingface/hub)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawData {
    pub kind: Option<String>, // "synthetic" | "jsonl" | "parquet" (a data file, see src/data/files.rs)
    pub path: Option<String>, // jsonl, parquet: the data file (relative to the working directory)
    pub val_frac: Option<f64>, // jsonl, parquet: share of sequences held out for validation
    pub val_every: Option<u64>, // jsonl, parquet: validation metrics every this many steps (and at the last)
    pub seed: Option<u64>,    // seed of the generated dataset (files: of the train/validation split)
    pub n_train: Option<usize>, // sequences per epoch
    pub min_len: Option<usize>, // shortest sequence, tokens
    pub max_len: Option<usize>, // longest sequence, tokens
    pub label_density: Option<f64>, // share of tokens with a non-zero label
    pub masked_frac: Option<f64>, // share of tokens inside domain = -1 spans
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoss {
    pub kind: Option<String>, // mse_sum | mse_mean | mse_sum_minus_std | … (see resolve_loss)
    pub phi: Option<f64>,     // weight of the diversity term (kinds with a std term)
    pub cap: Option<f64>,     // mse_sum_minus_capped_std: the bonus stops growing at std = cap
    pub target: Option<f64>,  // mse_sum_hinge_std: std below this is penalised, above it is free
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOptim {
    pub kind: Option<String>,      // sgd | adamw
    pub lr: Option<f64>,           // base learning rate
    pub momentum: Option<f64>,     // sgd only; 0 = plain SGD as in the seed
    pub weight_decay: Option<f64>, // L2 for sgd, decoupled for adamw
    pub beta1: Option<f64>,        // adamw only
    pub beta2: Option<f64>,        // adamw only
    pub eps: Option<f64>,          // adamw only
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub kind: Option<String>,   // constant | exponential | step | cosine
    pub per: Option<String>,    // "epoch" (torch's scheduler.step() per epoch) | "step"
    pub gamma: Option<f64>,     // exponential, step: decay factor
    pub step_size: Option<u64>, // step: decay every step_size epochs/steps
    pub t_max: Option<u64>,     // cosine: period in epochs/steps (default: the whole run)
    pub min_lr: Option<f64>,    // cosine: floor of the learning rate
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrain {
    pub steps: Option<u64>,          // optimizer steps per run
    pub batch_size: Option<usize>,   // sequences per step
    pub clip_grad_norm: Option<f64>, // clip the global gradient norm to this (torch clip_grad_norm_)
    pub warmup_steps: Option<u64>,   // linear lr warm-up over this many steps
    pub max_wall_s: Option<f64>,     // stop a run (status "stopped") after this many seconds
    pub fault: Option<String>,       // testing only: "nan@STEP" or "panic@STEP" injects a failure
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDetect {
    pub abs_floor: Option<f64>, // pred_std at or below this is "collapsed"…
    pub rel_floor: Option<f64>, // …or at or below this share of the running peak
    pub patience: Option<u64>,
    pub stop_after: Option<u64>, // stop a run this many steps after its collapse is confirmed  // steps below the floor before it counts as a collapse
}
