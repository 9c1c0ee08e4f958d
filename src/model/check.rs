//! The complete check of a whisper ggml file, before whisper.cpp is given it.
//!
//! whisper.cpp's loader trusts the file: it reads past the end as zeros, sizes buffers from
//! unchecked lengths (`std::length_error`, abort), takes a file without tensors as "an empty
//! model for testing" and aborts at the first transcription, and allocates every tensor from
//! the header before reading any. [`check_model`] walks the whole file the way the loader will
//! — header, mel filters, vocabulary, tensor table — and accepts it only when every tensor the
//! header implies is there exactly once with the shape whisper.cpp allocates for it, each
//! tensor's data is in the file, and the file ends exactly after the last one.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use super::ggml::{HeaderError, Hparams, read_hparams};
use super::quant::{Q8_0_BLOCK_BYTES, QK8_0};

/// Why a file is not a complete whisper.cpp model. The text follows "not a whisper.cpp model: ".
#[derive(Debug, thiserror::Error)]
pub enum BadModel {
    /// The file could not be read at all.
    #[error("cannot read it: {0}")]
    Io(#[source] io::Error),
    /// The 48-byte header is missing, has the wrong magic, or implausible values.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// The header is readable but describes no whisper model whisper.cpp can build.
    #[error("{0}")]
    Hparams(String),
    /// The file ends inside the header, filters, vocabulary or a tensor.
    #[error(
        "truncated: {what} needs {needed} bytes at offset {offset}, but the file ends at {len}; download or import it again"
    )]
    Truncated {
        /// What was being read ("the mel filters", "tensor encoder.conv1.weight", ...).
        what: String,
        /// Bytes it needs.
        needed: u64,
        /// Where it starts.
        offset: u64,
        /// The file's length.
        len: u64,
    },
    /// A length or count in the file that no whisper model has.
    #[error("{0}")]
    Malformed(String),
    /// The tensor table does not hold exactly the tensors the header implies.
    #[error("{0}")]
    Tensors(String),
    /// Bytes after the last tensor.
    #[error("{extra} bytes follow the last tensor (at offset {end}); the file is damaged or not a ggml model")]
    TrailingBytes {
        /// Bytes past the end of the tensor table.
        extra: u64,
        /// Where the last tensor ends.
        end: u64,
    },
}

/// Checks the model file at `path` (see the module documentation); returns its header.
pub fn check_file(path: &Path) -> Result<Hparams, BadModel> {
    let file = File::open(path).map_err(BadModel::Io)?;
    let len = file.metadata().map_err(BadModel::Io)?.len();
    check_model(&mut BufReader::new(file), len)
}

/// Bytes per block and elements per block of a ggml tensor type, for the types whisper models
/// are stored in (f32, f16, bf16 and the quantizations `whisper.cpp/quantize` writes).
fn type_layout(ttype: i32) -> Option<(u64, u64)> {
    Some(match ttype {
        0 => (4, 1),   // f32
        1 => (2, 1),   // f16
        2 => (18, 32), // q4_0
        3 => (20, 32), // q4_1
        6 => (22, 32), // q5_0
        7 => (24, 32), // q5_1
        // q8_0: the layout `hearth model import` writes (`quant.rs`).
        8 => (Q8_0_BLOCK_BYTES as u64, QK8_0 as u64),
        10 => (84, 256), // q2_k
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256), // q6_k
        30 => (2, 1),     // bf16
        _ => return None,
    })
}

/// The weight-type codes of the header (`ftype % 1000`) whisper.cpp maps to a tensor type.
fn known_ftype(ftype: i32) -> bool {
    matches!(ftype, 0..=3 | 7..=14)
}

/// Every tensor whisper.cpp creates for `h`, with its shape in ggml order padded to 3
/// dimensions (the loader compares the first three and the element count).
fn expected_tensors(h: &Hparams) -> HashMap<String, [u64; 3]> {
    let d = |v: i32| v as u64;
    let (a, t) = (d(h.n_audio_state), d(h.n_text_state));
    let mut m = HashMap::new();
    let mut put = |name: String, ne: &[u64]| {
        let mut shape = [1; 3];
        shape[..ne.len()].copy_from_slice(ne);
        m.insert(name, shape);
    };
    put("encoder.positional_embedding".into(), &[a, d(h.n_audio_ctx)]);
    put("encoder.conv1.weight".into(), &[3, d(h.n_mels), a]);
    put("encoder.conv1.bias".into(), &[1, a]);
    put("encoder.conv2.weight".into(), &[3, a, a]);
    put("encoder.conv2.bias".into(), &[1, a]);
    put("encoder.ln_post.weight".into(), &[a]);
    put("encoder.ln_post.bias".into(), &[a]);
    let block = |put: &mut dyn FnMut(String, &[u64]), prefix: &str, s: u64, cross: bool| {
        let attentions: &[&str] = if cross { &["attn", "cross_attn"] } else { &["attn"] };
        put(format!("{prefix}.mlp_ln.weight"), &[s]);
        put(format!("{prefix}.mlp_ln.bias"), &[s]);
        put(format!("{prefix}.mlp.0.weight"), &[s, 4 * s]);
        put(format!("{prefix}.mlp.0.bias"), &[4 * s]);
        put(format!("{prefix}.mlp.2.weight"), &[4 * s, s]);
        put(format!("{prefix}.mlp.2.bias"), &[s]);
        for attn in attentions {
            put(format!("{prefix}.{attn}_ln.weight"), &[s]);
            put(format!("{prefix}.{attn}_ln.bias"), &[s]);
            for proj in ["query", "key", "value", "out"] {
                put(format!("{prefix}.{attn}.{proj}.weight"), &[s, s]);
                if proj != "key" {
                    put(format!("{prefix}.{attn}.{proj}.bias"), &[s]);
                }
            }
        }
    };
    for i in 0..h.n_audio_layer {
        block(&mut put, &format!("encoder.blocks.{i}"), a, false);
    }
    put("decoder.positional_embedding".into(), &[t, d(h.n_text_ctx)]);
    put("decoder.token_embedding.weight".into(), &[t, d(h.n_vocab)]);
    put("decoder.ln.weight".into(), &[t]);
    put("decoder.ln.bias".into(), &[t]);
    for i in 0..h.n_text_layer {
        block(&mut put, &format!("decoder.blocks.{i}"), t, true);
    }
    m
}

/// Tracks the position in a file of known length so every read is checked against the end.
struct Walker<'a, R> {
    r: &'a mut R,
    pos: u64,
    len: u64,
}

impl<R: Read + Seek> Walker<'_, R> {
    /// Fails unless `needed` bytes remain.
    fn need(&self, what: impl FnOnce() -> String, needed: u64) -> Result<(), BadModel> {
        if self.len.saturating_sub(self.pos) < needed {
            return Err(BadModel::Truncated { what: what(), needed, offset: self.pos, len: self.len });
        }
        Ok(())
    }

    fn bytes(&mut self, what: impl FnOnce() -> String, n: u64) -> Result<Vec<u8>, BadModel> {
        self.need(what, n)?;
        let mut buf = vec![0u8; n as usize];
        self.r.read_exact(&mut buf).map_err(BadModel::Io)?;
        self.pos += n;
        Ok(buf)
    }

    fn i32(&mut self, what: impl FnOnce() -> String) -> Result<i32, BadModel> {
        let b = self.bytes(what, 4)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn skip(&mut self, what: impl FnOnce() -> String, n: u64) -> Result<(), BadModel> {
        self.need(what, n)?;
        // Relative, so a buffered reader keeps its buffer over the many small vocabulary skips.
        self.r.seek_relative(n as i64).map_err(BadModel::Io)?;
        self.pos += n;
        Ok(())
    }
}

/// Checks a whole ggml model of `len` bytes read from `r` (at its start); returns its header.
pub fn check_model<R: Read + Seek>(r: &mut R, len: u64) -> Result<Hparams, BadModel> {
    let h = read_hparams(r)?;
    if h.n_audio_state != h.n_text_state {
        return Err(BadModel::Hparams(format!(
            "encoder width {} differs from decoder width {}; whisper.cpp needs them equal",
            h.n_audio_state, h.n_text_state
        )));
    }
    if !known_ftype(h.weight_ftype()) {
        return Err(BadModel::Hparams(format!("unknown weight type {} in the header", h.ftype)));
    }
    if h.n_audio_layer > 128 || h.n_text_layer > 128 {
        return Err(BadModel::Hparams(format!(
            "{} encoder and {} decoder layers; whisper models have at most 32",
            h.n_audio_layer, h.n_text_layer
        )));
    }
    let mut w = Walker { r, pos: 48, len };

    let n_mel = w.i32(|| "the mel filter size".into())?;
    let n_fft = w.i32(|| "the mel filter size".into())?;
    if !(1..=1024).contains(&n_mel) || !(1..=8192).contains(&n_fft) {
        return Err(BadModel::Malformed(format!("mel filterbank of {n_mel} x {n_fft} values")));
    }
    w.skip(|| "the mel filters".into(), n_mel as u64 * n_fft as u64 * 4)?;

    let n_tokens = w.i32(|| "the vocabulary size".into())?;
    if !(0..=h.n_vocab).contains(&n_tokens) {
        return Err(BadModel::Malformed(format!(
            "the vocabulary holds {n_tokens} tokens, the header says {}",
            h.n_vocab
        )));
    }
    for i in 0..n_tokens {
        let token_len = w.i32(|| format!("token {i}"))?;
        if !(0..=1024).contains(&token_len) {
            return Err(BadModel::Malformed(format!("token {i} is {} bytes long", token_len as u32)));
        }
        w.skip(|| format!("token {i}"), token_len as u64)?;
    }

    let mut expected = expected_tensors(&h);
    let total = expected.len();
    // Once every tensor is there, whatever follows is not part of the model.
    while w.pos < len && !expected.is_empty() {
        let what = || "a tensor header".to_string();
        let n_dims = w.i32(what)?;
        let name_len = w.i32(what)?;
        let ttype = w.i32(what)?;
        if !(1..=4).contains(&n_dims) {
            return Err(BadModel::Malformed(format!("a tensor with {n_dims} dimensions at offset {}", w.pos - 12)));
        }
        if !(1..=256).contains(&name_len) {
            return Err(BadModel::Malformed(format!("a tensor name of {name_len} bytes at offset {}", w.pos - 12)));
        }
        let mut ne = [1u64; 4];
        for d in ne.iter_mut().take(n_dims as usize) {
            let v = w.i32(what)?;
            if v < 1 {
                return Err(BadModel::Malformed(format!("a tensor dimension of {v} at offset {}", w.pos - 4)));
            }
            *d = v as u64;
        }
        let name_bytes = w.bytes(|| "a tensor name".into(), name_len as u64)?;
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let Some(shape) = expected.remove(&name) else {
            return Err(BadModel::Tensors(format!(
                "tensor {name:?} is {} (whisper.cpp refuses the file)",
                if expected_tensors(&h).contains_key(&name) { "in the file twice" } else { "not part of this model" }
            )));
        };
        if ne[..3] != shape || ne[3] != 1 {
            return Err(BadModel::Tensors(format!(
                "tensor {name} has shape {:?}, the header implies {shape:?}",
                &ne[..n_dims as usize]
            )));
        }
        let Some((block_bytes, block_len)) = type_layout(ttype) else {
            return Err(BadModel::Tensors(format!("tensor {name} has unknown type {ttype}")));
        };
        let elements = ne.iter().product::<u64>();
        if elements % block_len != 0 {
            return Err(BadModel::Tensors(format!(
                "tensor {name} has {elements} elements, not whole blocks of {block_len}"
            )));
        }
        w.skip(|| format!("tensor {name}"), elements / block_len * block_bytes)?;
    }
    if !expected.is_empty() {
        let mut missing: Vec<&String> = expected.keys().collect();
        missing.sort();
        return Err(BadModel::Tensors(format!(
            "{} of the {total} tensors are missing (first: {}); the file is incomplete: download or import it again",
            missing.len(),
            missing[0]
        )));
    }
    if w.pos != len {
        return Err(BadModel::TrailingBytes { extra: len - w.pos, end: w.pos });
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_has_the_tensor_count_whisper_cpp_expects() {
        let h = Hparams {
            n_vocab: 51864,
            n_audio_ctx: 1500,
            n_audio_state: 384,
            n_audio_head: 6,
            n_audio_layer: 4,
            n_text_ctx: 448,
            n_text_state: 384,
            n_text_head: 6,
            n_text_layer: 4,
            n_mels: 80,
            ftype: 1,
        };
        let t = expected_tensors(&h);
        // whisper_model_load: 7 encoder globals + 15 per encoder layer, 4 decoder globals + 24
        // per decoder layer.
        assert_eq!(t.len(), 7 + 15 * 4 + 4 + 24 * 4);
        assert_eq!(t["encoder.conv1.weight"], [3, 80, 384]);
        assert_eq!(t["decoder.blocks.3.cross_attn.value.bias"], [384, 1, 1]);
        assert!(!t.contains_key("encoder.blocks.0.attn.key.bias"));
    }

    #[test]
    fn four_bytes_of_magic_are_not_a_model() {
        let err = check_model(&mut io::Cursor::new(b"lmgg".to_vec()), 4).unwrap_err();
        assert_eq!(err.to_string(), "shorter than a ggml header (48 bytes)");
    }
}
