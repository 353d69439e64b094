//! A BERT encoder (Hugging Face `BertModel` without the pooler) on candle, CPU, f32, and
//! sentence-transformers' mean pooling + L2 normalisation.

use candle_core::{DType, Tensor};
use candle_nn::ops::{layer_norm, softmax_last_dim};
use serde::Deserialize;

/// Added to attention scores of padding positions: softmax gives them exactly 0.
const MASK_BIAS: f64 = -1.0e9;

/// The fields of a Hugging Face BERT config.json that the forward pass depends on.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    #[serde(default = "bert_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "gelu")]
    pub hidden_act: String,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn two() -> usize {
    2
}
fn bert_eps() -> f64 {
    1e-12
}
fn gelu() -> String {
    "gelu".into()
}

impl BertConfig {
    /// What this implementation supports: the standard encoder with exact (erf) GELU.
    pub(crate) fn check(&self) -> Result<(), String> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, v)| *v == 0 || *v > 1 << 20) {
            return Err(format!("{name} is out of range"));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(format!("hidden_act {:?} is not supported (only \"gelu\")", self.hidden_act));
        }
        if let Some(p) = self.position_embedding_type.as_deref().filter(|p| *p != "absolute") {
            return Err(format!("position_embedding_type {p:?} is not supported (only \"absolute\")"));
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps < 1.0) {
            return Err(format!("layer_norm_eps {} is out of range", self.layer_norm_eps));
        }
        Ok(())
    }
}

struct Layer {
    /// Query, key and value projections fused: [hidden, 3 * hidden] (transposed for x · W).
    qkv_w: Tensor,
    qkv_b: Tensor,
    attn_out_w: Tensor,
    attn_out_b: Tensor,
    attn_ln_w: Tensor,
    attn_ln_b: Tensor,
    inter_w: Tensor,
    inter_b: Tensor,
    out_w: Tensor,
    out_b: Tensor,
    out_ln_w: Tensor,
    out_ln_b: Tensor,
}

/// The encoder's weights, ready to run.
pub(crate) struct Bert {
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    /// Row 0 of the token-type embeddings (single sentences only have type 0).
    token_type: Tensor,
    emb_ln_w: Tensor,
    emb_ln_b: Tensor,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    hidden: usize,
    eps: f32,
}

/// Looks tensors up by name and checks their shapes; converts f16/bf16 weights to f32.
pub(crate) trait TensorSource {
    fn has(&self, name: &str) -> bool;
    /// The tensor called `name`, `Ok(None)` if there is none.
    fn tensor(&self, name: &str) -> Result<Option<Tensor>, String>;
}

impl Bert {
    pub(crate) fn load(cfg: &BertConfig, src: &dyn TensorSource) -> Result<Bert, String> {
        // Checkpoints saved from BertForXxx carry a `bert.` prefix.
        let prefix = if src.has("embeddings.word_embeddings.weight") {
            ""
        } else if src.has("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            return Err("it has no tensor embeddings.word_embeddings.weight".into());
        };
        let get = |name: &str, shape: &[usize]| -> Result<Tensor, String> {
            let full = format!("{prefix}{name}");
            let t = src.tensor(&full)?.ok_or_else(|| format!("it has no tensor {full}"))?;
            if t.dims() != shape {
                return Err(format!("tensor {full} has shape {:?}, expected {shape:?}", t.dims()));
            }
            t.to_dtype(DType::F32).map_err(|e| format!("tensor {full}: {e}"))
        };
        let ce = |e: candle_core::Error| e.to_string();
        // x · W with W stored [out, in] by PyTorch: keep Wᵀ, contiguous.
        let transposed = |t: Tensor| -> Result<Tensor, String> { t.t().and_then(|t| t.contiguous()).map_err(ce) };
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let token_types = get("embeddings.token_type_embeddings.weight", &[cfg.type_vocab_size, h])?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for n in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{n}.");
            let g = |name: &str, shape: &[usize]| get(&format!("{p}{name}"), shape);
            let qkv_w = Tensor::cat(
                &[
                    g("attention.self.query.weight", &[h, h])?,
                    g("attention.self.key.weight", &[h, h])?,
                    g("attention.self.value.weight", &[h, h])?,
                ],
                0,
            )
            .map_err(ce)?;
            let qkv_b = Tensor::cat(
                &[
                    g("attention.self.query.bias", &[h])?,
                    g("attention.self.key.bias", &[h])?,
                    g("attention.self.value.bias", &[h])?,
                ],
                0,
            )
            .map_err(ce)?;
            layers.push(Layer {
                qkv_w: transposed(qkv_w)?,
                qkv_b,
                attn_out_w: transposed(g("attention.output.dense.weight", &[h, h])?)?,
                attn_out_b: g("attention.output.dense.bias", &[h])?,
                attn_ln_w: g("attention.output.LayerNorm.weight", &[h])?,
                attn_ln_b: g("attention.output.LayerNorm.bias", &[h])?,
                inter_w: transposed(g("intermediate.dense.weight", &[i, h])?)?,
                inter_b: g("intermediate.dense.bias", &[i])?,
                out_w: transposed(g("output.dense.weight", &[h, i])?)?,
                out_b: g("output.dense.bias", &[h])?,
                out_ln_w: g("output.LayerNorm.weight", &[h])?,
                out_ln_b: g("output.LayerNorm.bias", &[h])?,
            });
        }
        Ok(Bert {
            word_embeddings: get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            position_embeddings: get("embeddings.position_embeddings.weight", &[cfg.max_position_embeddings, h])?,
            token_type: token_types.get(0).map_err(ce)?,
            emb_ln_w: get("embeddings.LayerNorm.weight", &[h])?,
            emb_ln_b: get("embeddings.LayerNorm.bias", &[h])?,
            layers,
            heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
            hidden: h,
            eps: cfg.layer_norm_eps as f32,
        })
    }

    /// Last hidden states [batch, seq, hidden] for token ids [batch, seq] (u32). `mask`
    /// [batch, seq] (f32, 1 = token, 0 = padding) is needed only when there is padding.
    pub(crate) fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let h = self.hidden;
        let x = self.word_embeddings.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, h))?;
        let x = x.broadcast_add(&self.position_embeddings.narrow(0, 0, t)?)?.broadcast_add(&self.token_type)?;
        let mut x = layer_norm(&x.reshape((b * t, h))?, &self.emb_ln_w, &self.emb_ln_b, self.eps)?;
        // [batch, 1, 1, seq]: 0 for tokens, MASK_BIAS for padding.
        let bias = match mask {
            Some(m) => Some(m.affine(-MASK_BIAS, MASK_BIAS)?.reshape((b, 1, 1, t))?),
            None => None,
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for l in &self.layers {
            let qkv = x.matmul(&l.qkv_w)?.broadcast_add(&l.qkv_b)?;
            // [b*t, 3h] -> [3, b, heads, t, head_dim]
            let qkv = qkv.reshape((b, t, 3, self.heads, self.head_dim))?.permute((2, 0, 3, 1, 4))?.contiguous()?;
            let (q, k, v) = (qkv.get(0)?, qkv.get(1)?, qkv.get(2)?);
            let scores = (q.matmul(&k.t()?)? * scale)?;
            let scores = match &bias {
                Some(bias) => scores.broadcast_add(bias)?,
                None => scores,
            };
            let ctx = softmax_last_dim(&scores)?.matmul(&v)?; // [b, heads, t, head_dim]
            let ctx = ctx.transpose(1, 2)?.reshape((b * t, h))?;
            let attn = ctx.matmul(&l.attn_out_w)?.broadcast_add(&l.attn_out_b)?;
            x = layer_norm(&(attn + x)?, &l.attn_ln_w, &l.attn_ln_b, self.eps)?;
            let inter = gelu_erf(x.matmul(&l.inter_w)?.broadcast_add(&l.inter_b)?)?;
            let out = inter.matmul(&l.out_w)?.broadcast_add(&l.out_b)?;
            x = layer_norm(&(out + x)?, &l.out_ln_w, &l.out_ln_b, self.eps)?;
        }
        x.reshape((b, t, h))
    }
}

/// BERT's activation in its exact form, 0.5·x·(1 + erf(x/√2)), element by element. Not
/// candle's `gelu_erf`: its portable scalar erf took about a tenth of the encoder's time.
fn gelu_erf(x: Tensor) -> candle_core::Result<Tensor> {
    let mut v = x.flatten_all()?.to_vec1::<f32>()?;
    v.iter_mut().for_each(|x| *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2)));
    Tensor::from_vec(v, x.shape(), x.device())
}

/// The error function to within 1.5e-7 (Abramowitz & Stegun 7.1.26), with one call to the
/// platform's `exp`.
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t * (0.254_829_6 + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    (1.0 - poly * (-a * a).exp()).copysign(x)
}

/// sentence-transformers' pooling for this model: the mean of the token vectors where
/// `mask` [batch, seq] is 1 (sum / max(count, 1e-9)), then each row divided by
/// max(‖row‖₂, 1e-12). `hidden` is [batch, seq, dim]; the result [batch, dim].
pub(crate) fn mean_pool_normalize(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let summed = mask.unsqueeze(1)?.matmul(hidden)?.squeeze(1)?; // [b,1,t]·[b,t,d] -> [b,d]
    let counts = mask.sum_keepdim(1)?.clamp(1e-9f32, f32::MAX)?;
    let mean = summed.broadcast_div(&counts)?;
    let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12f32, f32::MAX)?;
    mean.broadcast_div(&norms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn gelu_matches_candles_exact_gelu() {
        let xs: Vec<f32> = (-8000..=8000).map(|i| i as f32 * 1e-3).collect();
        let t = Tensor::from_vec(xs.clone(), xs.len(), &Device::Cpu).unwrap();
        let ours = gelu_erf(t.clone()).unwrap().to_vec1::<f32>().unwrap();
        let candle = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        for ((x, a), b) in xs.iter().zip(ours).zip(candle) {
            assert!((a - b).abs() <= 3e-7 * x.abs().max(1.0), "gelu({x}): {a} vs candle's {b}");
        }
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(-3.0) < -0.9999 && erf(3.0) > 0.9999);
    }
}
