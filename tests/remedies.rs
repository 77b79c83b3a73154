//! Each remedy key changes the model, loss or optimiser the way it claims to.

use candle_core::{Device, Tensor, Var};
use harness::config::resolved::Activation;
use harness::config::{resolve_table, RunConfig};
use harness::data::batch::collate;
use harness::data::Sequence;
use harness::model::dropout::Dropout;
use harness::model::head::activate;
use harness::model::Model;
use harness::train::loss;
use harness::train::optim::Optimizer;
use harness::train::trainer::tensors;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn config(extra: &str) -> RunConfig {
    let text = format!(
        "[model]\nhidden_size = 16\nnum_layers = 1\nnum_heads = 2\nintermediate_size = 32\nmax_position = 64\n\
         head_sizes = [16, 8, 8]\n{extra}"
    );
    resolve_table(&toml::from_str(&text).unwrap()).unwrap()
}

fn grad_of_activation(act: Activation, slope: f64) -> Vec<f32> {
    let x = Var::new(&[-2.0f32, -0.5, 0.5, 2.0], &Device::Cpu).unwrap();
    let y = activate(x.as_tensor(), act, slope).unwrap().sum_all().unwrap();
    let g = y.backward().unwrap();
    g.get(x.as_tensor()).map(|t| t.to_vec1().unwrap()).unwrap_or(vec![0.0; 4])
}

#[test]
fn activations_pass_gradient_where_they_claim() {
    assert_eq!(grad_of_activation(Activation::Relu, 0.0), vec![0.0, 0.0, 1.0, 1.0], "ReLU: none for x < 0");
    let leaky = grad_of_activation(Activation::LeakyRelu, 0.1);
    assert!(leaky.iter().zip([0.1, 0.1, 1.0, 1.0]).all(|(a, b)| (a - b).abs() < 1e-6), "{leaky:?}");
    for act in [Activation::Gelu, Activation::Elu] {
        let g = grad_of_activation(act, 0.0);
        assert!(g[..2].iter().all(|&v| v != 0.0), "{act:?} has gradient for negative inputs: {g:?}");
    }
}

/// One training step on a fixed batch; returns (model before, model after) parameter vectors.
fn one_step(cfg: &RunConfig) -> (Model, Vec<Vec<f32>>) {
    let model = Model::new(&cfg.model, 1, &Device::Cpu).unwrap();
    let before: Vec<Vec<f32>> =
        model.params.params.iter().map(|p| p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap()).collect();
    let s =
        Sequence { tokens: vec![3, 7, 1, 9, 4, 2], labels: vec![0.0, 0.5, 0.9, 0.0, 0.1, 0.3], domains: vec![0; 6] };
    let batch = collate(&[&s]);
    let mut drop = Dropout::new(ChaCha8Rng::seed_from_u64(0));
    let fwd = model.forward(&tensors(&batch, &Device::Cpu).unwrap(), &mut drop).unwrap();
    let y = Tensor::new(batch.kept_labels().as_slice(), &Device::Cpu).unwrap();
    let parts = loss::compute(&cfg.loss, &fwd.preds, &fwd.logits, &y).unwrap();
    let grads = parts.total.backward().unwrap();
    let mut opt = Optimizer::new(cfg.optim, model.params.params.len());
    opt.step(&model.params, &grads, 0.01, cfg.train.clip_grad_norm).unwrap();
    (model, before)
}

#[test]
fn freezing_the_encoder_trains_only_the_head() {
    let (model, before) = one_step(&config("freeze_encoder = true"));
    for (p, b) in model.params.params.iter().zip(&before) {
        let after: Vec<f32> = p.var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        if p.name.starts_with("head.") {
            assert_ne!(&after, b, "{} must change", p.name);
        } else {
            assert_eq!(&after, b, "{} must stay frozen", p.name);
            assert!(!p.trainable);
        }
    }
    let (model, before) = one_step(&config(""));
    let changed = model.params.params.iter().zip(&before).filter(|(p, b)| {
        p.name.starts_with("encoder.") && p.var.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap() != **b
    });
    assert!(changed.count() > 0, "without freezing the encoder trains");
}

#[test]
fn head_init_scale_scales_the_initial_head_weights() {
    let max_abs = |cfg: &RunConfig| -> f32 {
        let m = Model::new(&cfg.model, 4, &Device::Cpu).unwrap();
        let w: Vec<f32> =
            m.params.get("head.0.weight").unwrap().var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        w.iter().fold(0.0, |a, x| a.max(x.abs()))
    };
    let (a, b) = (max_abs(&config("")), max_abs(&config("head_init_scale = 0.1")));
    assert!(a <= 0.25 + 1e-6, "PyTorch bound 1/sqrt(16) = 0.25, got {a}");
    assert!((b / a - 0.1).abs() < 1e-5, "same draws, scaled: {a} vs {b}");
}

#[test]
fn remedy_keys_resolve_and_reject_misuse() {
    let c = config("head_activation = \"leaky_relu\"\nleaky_slope = 0.2");
    assert_eq!((c.model.head_activation, c.model.leaky_slope), (Activation::LeakyRelu, Some(0.2)));
    let bad = |text: &str| {
        let t: toml::Table = toml::from_str(text).unwrap();
        resolve_table(&t).unwrap_err().key
    };
    assert_eq!(bad("[model]\nleaky_slope = 0.2"), "model.leaky_slope");
    assert_eq!(bad("[model]\nhead_activation = \"swish\""), "model.head_activation");
    assert_eq!(bad("[loss]\nkind = \"mse_sum_minus_std\"\ncap = 0.1"), "loss.cap");
    assert_eq!(bad("[loss]\nkind = \"mse_sum_hinge_std\"\ntarget = -1.0"), "loss.target");
    assert_eq!(bad("[train]\nclip_grad_norm = 0.0"), "train.clip_grad_norm");
}
