//! A BERT encoder written for training. candle-transformers' `BertModel` uses `LayerNorm` and
//! softmax kernels that have no backward, so its encoder silently never learns; this one uses
//! differentiable ops only: matmuls and candle ops, plus the fused LayerNorm, masked softmax and
//! GELU kernels of [`super::fused`], which have a backward. Parameter names follow HF BERT so
//! pretrained checkpoints map 1:1.
//!
//! Shapes: `B` batch, `T` sequence length, `H` hidden, `nh` heads, `hs = H / nh`; hidden states
//! are kept flat as `(B·T, H)` between layers.

use candle_core::{Device, Result, Tensor};
use candle_transformers::models::bert::Config as BertConfig;
use rand_chacha::ChaCha8Rng;

use super::dropout::Dropout;
use super::fused;
use super::init;
use super::linear::Linear;
use super::params::ParamStore;
use super::pretrained::Pretrained;

/// Added to attention scores of padding keys: their probability becomes exactly 0.
const MASKED_SCORE: f64 = -1e9;

struct LayerNorm {
    gamma: Tensor,
    beta: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        fused::layer_norm(x, &self.gamma, &self.beta, self.eps)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
}

pub struct Encoder {
    cfg: BertConfig,
    word: Tensor,       // (vocab, H)
    position: Tensor,   // (max_position, H)
    token_type: Tensor, // (type_vocab, H)
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    attention_dropout: f64,
}

/// How a parameter starts in a randomly initialised encoder.
#[derive(Debug, Clone, Copy)]
pub enum Init {
    Normal,
    Zeros,
    Ones,
}

/// Where the encoder's initial values come from: called once per tensor, in a fixed order,
/// with its HF name, random-init rule and shape.
type Source<'a> = dyn FnMut(&str, Init, &[usize]) -> Result<Tensor> + 'a;

fn linear(ps: &mut ParamStore, src: &mut Source, name: &str, inp: usize, out: usize) -> Result<Linear> {
    let w = format!("{name}.weight");
    let b = format!("{name}.bias");
    Ok(Linear {
        weight: ps.add(&w, "encoder", src(&w, Init::Normal, &[out, inp])?)?,
        bias: ps.add(&b, "encoder", src(&b, Init::Zeros, &[out])?)?,
    })
}

fn layer_norm(ps: &mut ParamStore, src: &mut Source, name: &str, h: usize, eps: f64) -> Result<LayerNorm> {
    let g = format!("{name}.weight");
    let b = format!("{name}.bias");
    Ok(LayerNorm {
        gamma: ps.add(&g, "encoder", src(&g, Init::Ones, &[h])?)?,
        beta: ps.add(&b, "encoder", src(&b, Init::Zeros, &[h])?)?,
        eps: eps as f32,
    })
}

impl Encoder {
    /// A randomly initialised encoder, as HF's `BertPreTrainedModel._init_weights` does it:
    /// weights `N(0, initializer_range²)`, biases 0, LayerNorm 1/0, padding embedding row 0.
    pub fn new(
        cfg: &BertConfig,
        attention_dropout: f64,
        ps: &mut ParamStore,
        rng: &mut ChaCha8Rng,
        dev: &Device,
    ) -> Result<Encoder> {
        let (std, pad) = (cfg.initializer_range, cfg.pad_token_id);
        let mut src = |name: &str, init: Init, shape: &[usize]| -> Result<Tensor> {
            match init {
                Init::Normal if name == "embeddings.word_embeddings.weight" && pad < shape[0] => {
                    let word = init::normal(rng, shape, std, dev)?;
                    let row = Tensor::zeros((1, shape[1]), word.dtype(), dev)?;
                    word.slice_assign(&[pad..pad + 1, 0..shape[1]], &row)
                }
                Init::Normal => init::normal(rng, shape, std, dev),
                Init::Zeros => init::zeros(shape, dev),
                Init::Ones => init::ones(shape, dev),
            }
        };
        Encoder::build(cfg, attention_dropout, ps, &mut src)
    }

    /// An encoder whose parameters start from a checkpoint's tensors (trainable like any other).
    pub fn from_pretrained(
        cfg: &BertConfig,
        attention_dropout: f64,
        ps: &mut ParamStore,
        weights: &Pretrained,
    ) -> Result<Encoder> {
        let mut src = |name: &str, _: Init, shape: &[usize]| weights.get(name, shape);
        Encoder::build(cfg, attention_dropout, ps, &mut src)
    }

    fn build(cfg: &BertConfig, attention_dropout: f64, ps: &mut ParamStore, src: &mut Source) -> Result<Encoder> {
        let h = cfg.hidden_size;
        let mut emb = |ps: &mut ParamStore, name: &str, rows: usize| -> Result<Tensor> {
            ps.add(name, "encoder", src(name, Init::Normal, &[rows, h])?)
        };
        let word = emb(ps, "embeddings.word_embeddings.weight", cfg.vocab_size)?;
        let position = emb(ps, "embeddings.position_embeddings.weight", cfg.max_position_embeddings)?;
        let token_type = emb(ps, "embeddings.token_type_embeddings.weight", cfg.type_vocab_size)?;
        let emb_norm = layer_norm(ps, src, "embeddings.LayerNorm", h, cfg.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let (inter, eps) = (cfg.intermediate_size, cfg.layer_norm_eps);
            layers.push(Layer {
                query: linear(ps, src, &format!("{p}.attention.self.query"), h, h)?,
                key: linear(ps, src, &format!("{p}.attention.self.key"), h, h)?,
                value: linear(ps, src, &format!("{p}.attention.self.value"), h, h)?,
                attn_out: linear(ps, src, &format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: layer_norm(ps, src, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
                intermediate: linear(ps, src, &format!("{p}.intermediate.dense"), h, inter)?,
                output: linear(ps, src, &format!("{p}.output.dense"), inter, h)?,
                out_norm: layer_norm(ps, src, &format!("{p}.output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Encoder { cfg: cfg.clone(), word, position, token_type, emb_norm, layers, attention_dropout })
    }

    pub fn max_position(&self) -> usize {
        self.cfg.max_position_embeddings
    }

    /// `input_ids`: (B, T) u32; `attention_mask`: (B, T) f32 with 1 for real tokens.
    /// Returns `last_hidden_state` flattened to (B·T, H).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor, drop: &mut Dropout) -> Result<Tensor> {
        let (b, t) = input_ids.dims2()?;
        let h = self.cfg.hidden_size;
        let p_hidden = self.cfg.hidden_dropout_prob;
        let words = self.word.index_select(&input_ids.flatten_all()?, 0)?.reshape((b, t, h))?;
        let pos = self.position.narrow(0, 0, t)?; // (T, H)
        let typ = self.token_type.narrow(0, 0, 1)?; // token_type_ids are all 0
        let x = words.broadcast_add(&pos)?.broadcast_add(&typ)?.reshape((b * t, h))?;
        let mut x = drop.apply(&self.emb_norm.forward(&x)?, p_hidden)?;
        // (B, 1, 1, T): 0 for real keys, MASKED_SCORE for padding keys.
        let bias = ((attention_mask.ones_like()? - attention_mask)? * MASKED_SCORE)?.reshape((b, 1, 1, t))?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &bias, b, t, drop)?;
        }
        Ok(x)
    }

    fn layer_forward(
        &self,
        l: &Layer,
        x: &Tensor,
        bias: &Tensor,
        b: usize,
        t: usize,
        drop: &mut Dropout,
    ) -> Result<Tensor> {
        let (h, nh) = (self.cfg.hidden_size, self.cfg.num_attention_heads);
        let hs = h / nh;
        let heads = |y: Tensor| -> Result<Tensor> { y.reshape((b, t, nh, hs))?.transpose(1, 2)?.contiguous() };
        let q = heads(l.query.forward(x)?)?; // (B, nh, T, hs)
        let k = heads(l.key.forward(x)?)?;
        let v = heads(l.value.forward(x)?)?;
        let scores = q.matmul(&k.t()?)?; // (B, nh, T, T)
        let probs = fused::masked_softmax(&scores, bias, 1.0 / (hs as f64).sqrt())?;
        let probs = drop.apply(&probs, self.attention_dropout)?;
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b * t, h))?; // (B·T, H)
        let attn = drop.apply(&l.attn_out.forward(&ctx)?, self.cfg.hidden_dropout_prob)?;
        let attn = l.attn_norm.forward(&(attn + x)?)?;
        let inter = fused::gelu_erf(&l.intermediate.forward(&attn)?)?;
        let out = drop.apply(&l.output.forward(&inter)?, self.cfg.hidden_dropout_prob)?;
        l.out_norm.forward(&(out + attn)?)
    }
}
