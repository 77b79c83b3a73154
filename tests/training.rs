//! Science checks of the training path: every parameter learns, masks are respected, and runs
//! are reproducible.

use std::sync::atomic::AtomicBool;

use candle_core::{Device, Tensor};
use harness::config::{resolve_table, RunConfig};
use harness::data::batch::collate;
use harness::data::Sequence;
use harness::metrics::reader::MetricsTable;
use harness::model::dropout::Dropout;
use harness::model::Model;
use harness::sweep::files::SweepDir;
use harness::sweep::grid::{run_id, RunSpec};
use harness::sweep::runner::run_one;
use harness::train::loss;
use harness::train::trainer::{forward_stats, tensors};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn config(extra: &str) -> RunConfig {
    let text = format!(
        "{extra}\n[model]\nhidden_size = 16\nnum_layers = 2\nnum_heads = 2\nintermediate_size = 32\nmax_position = 64\nhead_sizes = [16, 8, 8]\n\
         [data]\nn_train = 16\nmin_len = 6\nmax_len = 20\n[train]\nsteps = 30\nbatch_size = 2\n"
    );
    resolve_table(&toml::from_str(&text).unwrap()).unwrap()
}

fn seq(tokens: &[u32], labels: &[f32], domains: &[i32]) -> Sequence {
    Sequence { tokens: tokens.to_vec(), labels: labels.to_vec(), domains: domains.to_vec() }
}

#[test]
fn every_parameter_gets_a_nonzero_gradient_on_the_first_step() {
    let cfg = config("");
    let model = Model::new(&cfg.model, 3, &Device::Cpu).unwrap();
    let a = seq(&[3, 7, 1, 9, 4, 4, 2], &[0.0, 0.5, 0.9, 0.0, 0.1, 0.0, 0.3], &[0, 0, 0, -1, 0, 0, 0]);
    let b = seq(&[5, 6, 8], &[0.2, 0.0, 0.7], &[0, 0, 0]);
    let batch = collate(&[&a, &b]);
    let mut drop = Dropout::new(ChaCha8Rng::seed_from_u64(0));
    let fwd = model.forward(&tensors(&batch, &Device::Cpu).unwrap(), &mut drop).unwrap();
    let labels = Tensor::new(batch.kept_labels().as_slice(), &Device::Cpu).unwrap();
    let parts = loss::compute(&cfg.loss, &fwd.preds, &fwd.logits, &labels).unwrap();
    let grads = parts.total.backward().unwrap();
    let mut checked = 0;
    for p in &model.params.params {
        let g = grads.get(p.var.as_tensor()).unwrap_or_else(|| panic!("{} got no gradient", p.name));
        let norm = g.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(norm > 0.0, "{} has an all-zero gradient", p.name);
        checked += 1;
    }
    // embeddings (3 + LayerNorm 2) + 2 layers × 16 tensors + head 4 layers × 2
    assert_eq!(checked, 5 + 2 * 16 + 8);
    assert!(model.params.get("encoder.layer.1.attention.self.query.weight").is_some());
    assert!(model.params.get("encoder.layer.0.attention.self.key.bias").is_some());
}

/// Loss and statistics of one batch with dropout off.
fn eval(model: &Model, cfg: &RunConfig, seqs: &[&Sequence]) -> (Vec<f32>, f64, harness::metrics::record::StepRecord) {
    let batch = collate(seqs);
    let mut drop = Dropout::new(ChaCha8Rng::seed_from_u64(0));
    drop.train = false;
    let fwd = model.forward(&tensors(&batch, &Device::Cpu).unwrap(), &mut drop).unwrap();
    let labels = batch.kept_labels();
    let labels_t = Tensor::new(labels.as_slice(), &Device::Cpu).unwrap();
    let parts = loss::compute(&cfg.loss, &fwd.preds, &fwd.logits, &labels_t).unwrap();
    let rec = forward_stats(&fwd, &parts, &labels).unwrap();
    (fwd.preds.to_vec1().unwrap(), rec.loss, rec)
}

#[test]
fn padding_and_masked_domains_change_nothing() {
    let cfg = config("");
    let model = Model::new(&cfg.model, 5, &Device::Cpu).unwrap();
    let a = seq(&[3, 7, 1, 9, 4], &[0.0, 0.5, 0.9, 0.0, 0.1], &[0, 0, -1, -1, 0]);
    let (preds, loss_a, rec_a) = eval(&model, &cfg, &[&a]);
    assert_eq!(preds.len(), 3, "only the 3 loss tokens are predicted");
    // Labels under domain = -1 are not used at all.
    let a2 = seq(&[3, 7, 1, 9, 4], &[0.0, 0.5, 0.1, 0.7, 0.1], &[0, 0, -1, -1, 0]);
    let (_, loss_a2, rec_a2) = eval(&model, &cfg, &[&a2]);
    assert_eq!(loss_a, loss_a2);
    assert_eq!(rec_a, rec_a2);
    // Padding `a` next to a longer sequence leaves its predictions unchanged.
    let long = seq(&[2; 12], &[0.3; 12], &[-1; 12]);
    let (preds_padded, _, _) = eval(&model, &cfg, &[&a, &long]);
    for (x, y) in preds.iter().zip(&preds_padded) {
        assert!((x - y).abs() < 1e-5, "{preds:?} vs {preds_padded:?}");
    }
}

fn train_once(cfg: &RunConfig, dir: &std::path::Path) -> MetricsTable {
    let toml = cfg.to_toml();
    let spec = RunSpec { id: run_id(&toml), config: cfg.clone(), config_toml: toml, swept: vec![] };
    let sweep = SweepDir::new(dir);
    let r = run_one(&sweep, &spec, &AtomicBool::new(false), &Device::Cpu).unwrap();
    assert_eq!(r.ending, "finished", "{r:?}");
    MetricsTable::read(&sweep.metrics(&spec.id)).unwrap()
}

/// Every column except the wall-time one.
fn comparable(m: &MetricsTable) -> polars::prelude::DataFrame {
    m.df.drop("step_ms").unwrap()
}

#[test]
fn same_config_and_seed_give_identical_metrics_other_seed_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config("seed = 11");
    let a = train_once(&cfg, &tmp.path().join("a"));
    let b = train_once(&cfg, &tmp.path().join("b"));
    assert_eq!(a.rows(), 30);
    assert!(comparable(&a).equals_missing(&comparable(&b)), "same seed must give identical metrics");
    let c = train_once(&config("seed = 12"), &tmp.path().join("c"));
    assert!(!comparable(&a).equals_missing(&comparable(&c)), "another seed must differ");
}

/// Trains `cfg` with statistics on or off; returns every parameter's values and the records.
fn train_in_memory(cfg: &RunConfig, stats: bool) -> (Vec<Vec<f32>>, Vec<harness::metrics::record::StepRecord>) {
    let mut t = harness::train::trainer::Trainer::new(cfg).unwrap();
    t.set_stats(stats);
    let mut recs = Vec::new();
    t.run(&AtomicBool::new(false), &mut |r| {
        recs.push(r);
        Ok(None)
    })
    .unwrap();
    let params = t.model().params.params.iter().map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap());
    (params.collect(), recs)
}

#[test]
fn statistics_do_not_change_training() {
    for optim in
        ["kind = \"sgd\"\nlr = 0.01", "kind = \"sgd\"\nlr = 1e-3\nmomentum = 0.9", "kind = \"adamw\"\nlr = 1e-3"]
    {
        let cfg = config(&format!("[optim]\n{optim}"));
        let (with, recs_on) = train_in_memory(&cfg, true);
        let (without, recs_off) = train_in_memory(&cfg, false);
        assert_eq!(with, without, "{optim}: parameters differ after 30 steps with and without statistics");
        assert_eq!(recs_on.len(), 30);
        assert_eq!(recs_off.len(), 30);
        let bad: Vec<_> = recs_on
            .iter()
            .filter(|r| !(r.n_tokens > 0 && r.grad_norm > 0.0))
            .map(|r| (r.step, r.n_tokens, r.grad_norm, r.pred_std))
            .collect();
        assert!(bad.is_empty(), "{optim}: {bad:?}");
        // Without statistics a record carries the step, epoch and lr only.
        let off = &recs_off[7];
        assert_eq!((off.step, off.lr), (7, recs_on[7].lr));
        assert_eq!((off.pred_std, off.grad_norm, off.n_tokens), (0.0, 0.0, 0));
    }
}

#[test]
fn batches_replays_what_run_trains_on() {
    let cfg = config("seed = 4");
    let t = harness::train::trainer::Trainer::new(&cfg).unwrap();
    let batches = t.batches(30);
    assert_eq!(batches, t.batches(30), "replaying is deterministic");
    let (_, recs) = train_in_memory(&cfg, true);
    let tokens: Vec<i64> = batches.iter().map(|b| b.keep.len() as i64).collect();
    assert_eq!(tokens, recs.iter().map(|r| r.n_tokens).collect::<Vec<_>>());
    assert!(tokens.windows(2).any(|w| w[0] != w[1]), "batches differ in size: {tokens:?}");
}
