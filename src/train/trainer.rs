//! The training loop of one run, top to bottom: build data and model from the run's config,
//! then for each step: batch, lr, forward, loss, backward, statistics, update, emit a
//! [`StepRecord`]. Stops at the last step, on NaN/Inf (diverged), on the wall-time limit or
//! when asked to (stopped). Training never writes files: records go to the caller's sink.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::resolved::{DataConfig, Fault, FileData, RunConfig};
use crate::data::batch::{collate, Batch, Sampler};
use crate::data::files::{self, Checks, Tokenize};
use crate::data::synthetic::{generate, SyntheticSpec};
use crate::data::tokenize::HfTokenizer;
use crate::data::Sequence;
use crate::metrics::record::{correlation, layer_stats, mean_std, RecordLayout, StepRecord};
use crate::model::dropout::Dropout;
use crate::model::{pretrained, BatchTensors, Forward, Model};
use crate::train::loss::{self, LossParts};
use crate::train::optim::Optimizer;
use crate::train::schedule::lr_with_warmup;

/// |logit| above this counts as a saturated sigmoid (its gradient is below 5e-5).
pub const SATURATED_LOGIT: f32 = 10.0;

/// How the loop ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Finished,
    /// A non-finite value appeared at `step`; `what` names it.
    Diverged {
        step: i64,
        what: String,
    },
    /// Stopped on purpose before the last step (wall-time limit, early stop on collapse).
    Stopped {
        reason: String,
    },
    /// Stopped because the user interrupted the sweep: to be redone on resume.
    Interrupted,
}

/// A run ready to train: data, model and optimizer state built from its config.
pub struct Trainer {
    cfg: RunConfig,
    data: Vec<Sequence>,
    /// Held-out sequences (data files only).
    val: Vec<Sequence>,
    model: Model,
    layout: RecordLayout,
    dev: Device,
    /// Off only to measure what the statistics cost (`harness bench`): records then carry
    /// step, epoch, lr and step_ms only, and nothing checks for divergence.
    stats: bool,
}

/// Independent random streams of one run, all from its `seed`.
fn stream(seed: u64, id: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(id);
    rng
}

impl Trainer {
    /// A run on the CPU.
    pub fn new(cfg: &RunConfig) -> Result<Trainer> {
        Trainer::on(cfg, &Device::Cpu)
    }

    /// A run whose tensors live on `dev`.
    pub fn on(cfg: &RunConfig, dev: &Device) -> Result<Trainer> {
        let dev = dev.clone();
        let (model, vocab_size, tokenizer) = match &cfg.model.pretrained {
            None => (Model::new(&cfg.model, cfg.seed, &dev).context("building the model")?, cfg.model.vocab_size, None),
            Some(source) => {
                let cache = cfg.model.cache_dir.as_deref().map(Path::new);
                let dir = pretrained::resolve(source, cfg.model.revision.as_deref(), cache)?;
                let p = pretrained::load(&dir, &dev)?;
                let tok_path = dir.join("tokenizer.json");
                let tok = if tok_path.is_file() { Some(HfTokenizer::from_file(&tok_path)?) } else { None };
                let model = Model::from_pretrained(&cfg.model, &p, cfg.seed, &dev)
                    .with_context(|| format!("loading {}", dir.display()))?;
                (model, p.config.vocab_size, tok)
            }
        };
        let (data, val) = match &cfg.data {
            DataConfig::Synthetic { seed, n_train, min_len, max_len, label_density, masked_frac } => {
                let spec = SyntheticSpec {
                    seed: *seed,
                    n_train: *n_train,
                    min_len: *min_len,
                    max_len: *max_len,
                    label_density: *label_density,
                    masked_frac: *masked_frac,
                    vocab_size,
                };
                (generate(&spec), Vec::new())
            }
            DataConfig::Jsonl(f) | DataConfig::Parquet(f) => {
                let checks = Checks { vocab_size, tokenizer: tokenizer.as_ref().map(|t| t as &dyn Tokenize) };
                let seqs = files::load(Path::new(&f.path), &checks)?;
                let max_position = model.max_position();
                if let Some((i, s)) = seqs.iter().enumerate().find(|(_, s)| s.tokens.len() > max_position) {
                    bail!(
                        "{}: sequence {i} has {} tokens, more than the model's {max_position} positions",
                        f.path,
                        s.tokens.len()
                    );
                }
                split(seqs, f)?
            }
        };
        let layout = RecordLayout { groups: model.params.groups.clone(), layers: model.tap_names() };
        Ok(Trainer { cfg: cfg.clone(), data, val, model, layout, dev, stats: true })
    }

    pub fn layout(&self) -> &RecordLayout {
        &self.layout
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Turns the per-step statistics off (or on again); see [`Trainer::stats`].
    pub fn set_stats(&mut self, on: bool) {
        self.stats = on;
    }

    /// The first `n` batches [`Trainer::run`] trains on, in order.
    pub fn batches(&self, n: usize) -> Vec<Batch> {
        let mut sampler = self.sampler();
        (0..n).map(|_| self.collate(&sampler.next_batch().1)).collect()
    }

    /// The training batches' order, the same in [`Trainer::run`] and [`Trainer::batches`].
    fn sampler(&self) -> Sampler {
        Sampler::new(self.data.len(), self.cfg.train.batch_size, stream(self.cfg.seed, 2))
    }

    /// The training sequences at `idx` as one padded batch.
    fn collate(&self, idx: &[usize]) -> Batch {
        collate(&idx.iter().map(|&i| &self.data[i]).collect::<Vec<_>>())
    }

    /// Trains, handing each step's record to `sink`, which returns `Some(reason)` to stop the
    /// run after that step. Returns how it ended and the steps done.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        sink: &mut dyn FnMut(StepRecord) -> Result<Option<String>>,
    ) -> Result<(Ending, i64)> {
        let cfg = &self.cfg;
        let mut drop = Dropout::new(stream(cfg.seed, 1));
        let mut sampler = self.sampler();
        let mut opt = Optimizer::new(cfg.optim, self.model.params.params.len());
        let started = Instant::now();
        for step in 0..cfg.train.steps as i64 {
            if stop.load(Ordering::Relaxed) {
                return Ok((Ending::Interrupted, step));
            }
            if let Some(limit) = cfg.train.max_wall_s {
                if started.elapsed().as_secs_f64() > limit {
                    return Ok((Ending::Stopped { reason: format!("train.max_wall_s = {limit} reached") }, step));
                }
            }
            let t0 = Instant::now();
            let (epoch, idx) = sampler.next_batch();
            let batch = self.collate(&idx);
            let lr = lr_with_warmup(&cfg.schedule, cfg.optim.lr(), step as u64, epoch, cfg.train.warmup_steps);

            let fwd = self.model.forward(&tensors(&batch, &self.dev)?, &mut drop)?;
            let labels = batch.kept_labels();
            let labels_t = Tensor::new(labels.as_slice(), &self.dev)?;
            let parts = loss::compute(&cfg.loss, &fwd.preds, &fwd.logits, &labels_t)?;
            let parts = match cfg.train.fault() {
                Some(Fault::Nan(at)) if at == step as u64 => LossParts { total: (&parts.total * f64::NAN)?, ..parts },
                Some(Fault::Panic(at)) if at == step as u64 => {
                    panic!("injected panic at step {step} (train.fault)")
                }
                _ => parts,
            };
            let grads = parts.total.backward()?;

            if !self.stats {
                opt.update(&self.model.params, &grads, lr, cfg.train.clip_grad_norm)?;
                let rec = StepRecord { step, epoch: epoch as i64, lr, step_ms: ms_since(t0), ..StepRecord::default() };
                if let Some(reason) = sink(rec)? {
                    return Ok((Ending::Stopped { reason }, step + 1));
                }
                continue;
            }
            let mut rec = forward_stats(&fwd, &parts, &labels)?;
            (rec.val_loss, rec.val_pred_std) = (f64::NAN, f64::NAN);
            if let DataConfig::Jsonl(f) | DataConfig::Parquet(f) = &cfg.data {
                let last = step + 1 == cfg.train.steps as i64;
                if !self.val.is_empty() && ((step as u64).is_multiple_of(f.val_every) || last) {
                    (rec.val_loss, rec.val_pred_std) = self.validate()?;
                }
            }
            rec.bias_output = 1.0 / (1.0 + (-(self.model.out_bias().flatten_all()?.to_vec1::<f32>()?[0] as f64)).exp());
            let s = opt.step(&self.model.params, &grads, lr, cfg.train.clip_grad_norm)?;
            rec.step = step;
            rec.epoch = epoch as i64;
            rec.lr = lr;
            rec.grad_norm = s.grad_norm;
            rec.grad_norm_groups = s.group_norms;
            rec.update_ratio = s.update_ratio;
            rec.frozen_params = s.frozen_params as i64;
            rec.step_ms = ms_since(t0);

            let bad = non_finite(&rec);
            let asked_to_stop = sink(rec)?;
            if let Some(what) = bad {
                return Ok((Ending::Diverged { step, what }, step + 1));
            }
            if let Some(reason) = asked_to_stop {
                return Ok((Ending::Stopped { reason }, step + 1));
            }
        }
        Ok((Ending::Finished, cfg.train.steps as i64))
    }
}

impl Trainer {
    /// `(val_loss, val_pred_std)` over every held-out sequence, dropout off, no gradients kept.
    fn validate(&self) -> Result<(f64, f64)> {
        let mut eval = Dropout::new(stream(self.cfg.seed, 3));
        eval.train = false;
        let (mut preds, mut logits, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in self.val.chunks(self.cfg.train.batch_size) {
            let batch = collate(&chunk.iter().collect::<Vec<_>>());
            if batch.keep.is_empty() {
                continue;
            }
            let fwd = self.model.forward(&tensors(&batch, &self.dev)?, &mut eval)?;
            preds.push(fwd.preds.detach());
            logits.push(fwd.logits.detach());
            labels.extend(batch.kept_labels());
        }
        if labels.len() < 2 {
            return Ok((f64::NAN, f64::NAN));
        }
        let (preds, logits) = (Tensor::cat(&preds, 0)?, Tensor::cat(&logits, 0)?);
        let labels_t = Tensor::new(labels.as_slice(), &self.dev)?;
        let parts = loss::compute(&self.cfg.loss, &preds, &logits, &labels_t)?;
        let (_, std) = mean_std(&preds.to_vec1::<f32>()?);
        Ok((parts.total.to_scalar::<f32>()? as f64, std))
    }
}

/// Seeded split of a data file's sequences into (train, validation).
fn split(mut seqs: Vec<Sequence>, f: &FileData) -> Result<(Vec<Sequence>, Vec<Sequence>)> {
    use rand::seq::SliceRandom;
    seqs.shuffle(&mut ChaCha8Rng::seed_from_u64(f.seed));
    let n_val = if f.val_frac > 0.0 { ((seqs.len() as f64 * f.val_frac).round() as usize).max(1) } else { 0 };
    if n_val >= seqs.len() {
        bail!("{}: {} sequences leave none for training with data.val_frac = {}", f.path, seqs.len(), f.val_frac);
    }
    let val = seqs.split_off(seqs.len() - n_val);
    Ok((seqs, val))
}

/// The batch as tensors on `dev`.
pub fn tensors(b: &Batch, dev: &Device) -> Result<BatchTensors> {
    Ok(BatchTensors {
        input_ids: Tensor::from_vec(b.input_ids.clone(), (b.batch, b.seq_len), dev)?,
        attention_mask: Tensor::from_vec(b.attention_mask.clone(), (b.batch, b.seq_len), dev)?,
        keep: Tensor::new(b.keep.as_slice(), dev)?,
    })
}

fn ms_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e3
}

/// Prediction, logit, loss and per-layer statistics of one forward pass over the loss tokens.
pub fn forward_stats(fwd: &Forward, parts: &LossParts, labels: &[f32]) -> Result<StepRecord> {
    let preds: Vec<f32> = fwd.preds.to_vec1()?;
    let logits: Vec<f32> = fwd.logits.to_vec1()?;
    let (pred_mean, pred_std) = mean_std(&preds);
    let (label_mean, _) = mean_std(labels);
    let (_, logit_std) = mean_std(&logits);
    let saturated = logits.iter().filter(|l| l.abs() > SATURATED_LOGIT).count();
    let mut dead_frac = Vec::with_capacity(fwd.taps.len());
    let mut token_std = Vec::with_capacity(fwd.taps.len());
    for (_, tap) in &fwd.taps {
        let (tokens, units) = tap.dims2()?;
        let (d, s) = layer_stats(&tap.flatten_all()?.to_vec1::<f32>()?, tokens, units);
        dead_frac.push(d);
        token_std.push(s);
    }
    let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_scalar::<f32>()? as f64) };
    Ok(StepRecord {
        loss: scalar(&parts.total)?,
        mse: scalar(&parts.mse)?,
        std_bonus: parts.std_bonus.as_ref().map(scalar).transpose()?.unwrap_or(0.0),
        pred_mean,
        pred_std,
        pred_min: preds.iter().copied().fold(f32::INFINITY, f32::min) as f64,
        pred_max: preds.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64,
        label_mean,
        pred_label_corr: correlation(&preds, labels),
        mean_sq_err: preds.iter().zip(labels).map(|(&p, &y)| ((p - y) as f64).powi(2)).sum::<f64>()
            / preds.len() as f64,
        n_tokens: preds.len() as i64,
        logit_std,
        saturated_frac: saturated as f64 / preds.len().max(1) as f64,
        dead_frac,
        token_std,
        ..StepRecord::default()
    })
}

/// The first non-finite quantity of a record, if any.
fn non_finite(r: &StepRecord) -> Option<String> {
    [("loss", r.loss), ("pred_std", r.pred_std), ("grad_norm", r.grad_norm), ("update_ratio", r.update_ratio)]
        .iter()
        .find(|(_, v)| !v.is_finite())
        .map(|(name, v)| format!("{name} = {v}"))
}
