//! The seed's model: BERT encoder → ReLU → MLP head → sigmoid, one prediction per token.
//! The head only runs on the loss tokens (it acts per token, so this equals running it on
//! every token and masking afterwards), which also makes every tap hold exactly the loss tokens.

pub mod dropout;
pub mod encoder;
pub mod fused;
pub mod head;
pub mod init;
pub mod linear;
pub mod params;
pub mod pretrained;

use candle_core::{Device, Result, Tensor};
use candle_transformers::models::bert::{Config as BertConfig, HiddenAct, PositionEmbeddingType};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::config::resolved::ModelConfig;
use dropout::Dropout;
use encoder::Encoder;
use head::Head;
use params::ParamStore;
use pretrained::Pretrained;

/// A batch as tensors.
pub struct BatchTensors {
    pub input_ids: Tensor,      // (B, T) u32
    pub attention_mask: Tensor, // (B, T) f32
    pub keep: Tensor,           // (K,) u32 flat positions of loss tokens
}

/// One forward pass over the loss tokens.
pub struct Forward {
    /// `(layer name, (K, width) activations)`: `encoder_out`, `head_0`, …
    pub taps: Vec<(String, Tensor)>,
    pub logits: Tensor, // (K,)
    pub preds: Tensor,  // (K,)
}

pub struct Model {
    pub params: ParamStore,
    encoder: Encoder,
    head: Head,
    encoder_relu: bool,
    freeze_encoder: bool,
}

/// The candle-transformers BERT config for our `[model]` section.
pub fn bert_config(m: &ModelConfig) -> BertConfig {
    BertConfig {
        vocab_size: m.vocab_size,
        hidden_size: m.hidden_size,
        num_hidden_layers: m.num_layers,
        num_attention_heads: m.num_heads,
        intermediate_size: m.intermediate_size,
        hidden_act: HiddenAct::Gelu,
        hidden_dropout_prob: m.hidden_dropout,
        max_position_embeddings: m.max_position,
        type_vocab_size: 2,
        initializer_range: m.init_std,
        layer_norm_eps: m.layer_norm_eps,
        pad_token_id: 0,
        position_embedding_type: PositionEmbeddingType::Absolute,
        use_cache: false,
        classifier_dropout: None,
        model_type: Some("bert".into()),
    }
}

impl Model {
    /// A randomly initialised model; every initial value is drawn from `ChaCha8(seed)`.
    pub fn new(m: &ModelConfig, seed: u64, dev: &Device) -> Result<Model> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = ParamStore::default();
        let encoder = Encoder::new(&bert_config(m), m.attention_dropout, &mut params, &mut rng, dev)?;
        let head = Head::new(m, &mut params, &mut rng, dev)?;
        if m.freeze_encoder {
            params.freeze_group("encoder");
        }
        Ok(Model { params, encoder, head, encoder_relu: m.encoder_relu, freeze_encoder: m.freeze_encoder })
    }

    /// The encoder from a checkpoint (its `config.json` fixes the architecture; `m` supplies the
    /// dropout rates, the head and `freeze_encoder`), the head drawn from `ChaCha8(seed)`.
    pub fn from_pretrained(m: &ModelConfig, p: &Pretrained, seed: u64, dev: &Device) -> Result<Model> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = ParamStore::default();
        let bert = BertConfig { hidden_dropout_prob: m.hidden_dropout, ..p.config.clone() };
        let encoder = Encoder::from_pretrained(&bert, m.attention_dropout, &mut params, p)?;
        let head_cfg = ModelConfig { hidden_size: bert.hidden_size, ..m.clone() };
        let head = Head::new(&head_cfg, &mut params, &mut rng, dev)?;
        if m.freeze_encoder {
            params.freeze_group("encoder");
        }
        Ok(Model { params, encoder, head, encoder_relu: m.encoder_relu, freeze_encoder: m.freeze_encoder })
    }

    /// `last_hidden_state` (B·T, H) of the encoder alone, for checks against a reference.
    pub fn encode(&self, input_ids: &Tensor, attention_mask: &Tensor, drop: &mut Dropout) -> Result<Tensor> {
        self.encoder.forward(input_ids, attention_mask, drop)
    }

    /// Longest sequence the position table holds.
    pub fn max_position(&self) -> usize {
        self.encoder.max_position()
    }

    /// Names of the tapped layers, in the order of [`Forward::taps`].
    pub fn tap_names(&self) -> Vec<String> {
        let mut names = vec!["encoder_out".to_string()];
        names.extend((0..self.head.hidden_layers()).map(|i| format!("head_{i}")));
        names
    }

    pub fn out_bias(&self) -> &Tensor {
        self.head.out_bias()
    }

    pub fn forward(&self, b: &BatchTensors, drop: &mut Dropout) -> Result<Forward> {
        let mut hidden = self.encoder.forward(&b.input_ids, &b.attention_mask, drop)?; // (B·T, H)
        if self.freeze_encoder {
            hidden = hidden.detach(); // no backward pass through a frozen encoder
        }
        let mut x = hidden.index_select(&b.keep, 0)?; // (K, H)
        if self.encoder_relu {
            x = x.relu()?;
        }
        let out = self.head.forward(&x)?;
        let mut taps = vec![("encoder_out".to_string(), x)];
        taps.extend(out.taps.into_iter().enumerate().map(|(i, t)| (format!("head_{i}"), t)));
        Ok(Forward { taps, logits: out.logits, preds: out.preds })
    }
}
