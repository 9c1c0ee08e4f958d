//! The legacy ggml model format whisper.cpp loads (see `whisper_model_load`).
//!
//! ```text
//! u32 magic "ggml" (0x67676d6c)
//! i32 n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
//!     n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
//! i32 n_mel, i32 n_fft, f32 filters[n_mel * n_fft]
//! i32 n_tokens, then per token: u32 length, bytes
//! tensors until EOF: i32 n_dims, i32 name length, i32 type, i32 ne[n_dims], name, data
//! ```
//! `ftype` is the weight type (1 = mostly f16, 7 = mostly q8_0) plus 1000 x the quantization
//! version (2 for files written by quantizers since 2023). `ne` lists the dimensions
//! fastest-varying first, i.e. PyTorch's shape reversed.

use std::io::{self, Read, Write};

/// "ggml" read as a little-endian u32.
pub const MAGIC: u32 = 0x6767_6d6c;
/// `GGML_QNT_VERSION`: the quantization format version a quantized file's ftype carries.
pub const QNT_VERSION: i32 = 2;
/// `GGML_QNT_VERSION_FACTOR`.
pub const QNT_VERSION_FACTOR: i32 = 1000;

/// `GGML_FTYPE_*` values for the header.
pub const FTYPE_F32: i32 = 0;
pub const FTYPE_F16: i32 = 1;
pub const FTYPE_Q8_0: i32 = 7;

/// Per-tensor `ggml_type` ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
}

/// The header of a whisper ggml file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hparams {
    pub n_vocab: i32,
    pub n_audio_ctx: i32,
    pub n_audio_state: i32,
    pub n_audio_head: i32,
    pub n_audio_layer: i32,
    pub n_text_ctx: i32,
    pub n_text_state: i32,
    pub n_text_head: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    /// Raw value, including the quantization version x 1000.
    pub ftype: i32,
}

impl Hparams {
    /// The header words in file order.
    pub fn words(&self) -> [i32; 11] {
        [
            self.n_vocab,
            self.n_audio_ctx,
            self.n_audio_state,
            self.n_audio_head,
            self.n_audio_layer,
            self.n_text_ctx,
            self.n_text_state,
            self.n_text_head,
            self.n_text_layer,
            self.n_mels,
            self.ftype,
        ]
    }

    /// whisper.cpp's test: multilingual vocabularies have at least 51865 tokens.
    pub fn multilingual(&self) -> bool {
        self.n_vocab >= 51865
    }

    /// The weight type without the quantization version.
    pub fn weight_ftype(&self) -> i32 {
        self.ftype % QNT_VERSION_FACTOR
    }

    pub fn quantization_version(&self) -> i32 {
        self.ftype / QNT_VERSION_FACTOR
    }

    /// A readable name for the weight type (`f16`, `q8_0`, ...).
    pub fn weight_type_name(&self) -> &'static str {
        match self.weight_ftype() {
            0 => "f32",
            1 => "f16",
            2 => "q4_0",
            3 => "q4_1",
            7 => "q8_0",
            8 => "q5_0",
            9 => "q5_1",
            10 => "q2_k",
            11 => "q3_k",
            12 => "q4_k",
            13 => "q5_k",
            14 => "q6_k",
            _ => "unknown",
        }
    }

    /// The model size whisper.cpp reports, from the encoder depth.
    pub fn size_name(&self) -> &'static str {
        match self.n_audio_layer {
            4 => "tiny",
            6 => "base",
            12 => "small",
            24 => "medium",
            32 if self.n_vocab == 51866 => "large-v3",
            32 => "large",
            _ => "unknown",
        }
    }
}

/// Why a file's first 48 bytes are not a whisper ggml header.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// Fewer than 48 bytes.
    #[error("shorter than a ggml header (48 bytes)")]
    Short,
    /// Reading failed.
    #[error("cannot read the header: {0}")]
    Io(#[source] io::Error),
    /// A GGUF file, the format of LLMs, not of whisper.cpp.
    #[error("it is a GGUF file (e.g. an LLM); whisper.cpp wants the ggml format")]
    Gguf,
    /// Another magic number.
    #[error("bad magic {0:#010x}, expected {MAGIC:#010x} (\"ggml\")")]
    Magic(u32),
    /// Dimensions no model has (zero, negative, over a million) or a negative weight type.
    #[error("implausible header values {0:?}")]
    Implausible(Hparams),
}

/// Reads and sanity-checks the header (the caller names the file).
pub fn read_hparams(r: &mut impl Read) -> Result<Hparams, HeaderError> {
    let mut buf = [0u8; 48];
    r.read_exact(&mut buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => HeaderError::Short,
        _ => HeaderError::Io(e),
    })?;
    let word = |i: usize| i32::from_le_bytes([buf[i * 4], buf[i * 4 + 1], buf[i * 4 + 2], buf[i * 4 + 3]]);
    let magic = word(0) as u32;
    if magic != MAGIC {
        if &buf[..4] == b"GGUF" {
            return Err(HeaderError::Gguf);
        }
        return Err(HeaderError::Magic(magic));
    }
    let h = Hparams {
        n_vocab: word(1),
        n_audio_ctx: word(2),
        n_audio_state: word(3),
        n_audio_head: word(4),
        n_audio_layer: word(5),
        n_text_ctx: word(6),
        n_text_state: word(7),
        n_text_head: word(8),
        n_text_layer: word(9),
        n_mels: word(10),
        ftype: word(11),
    };
    let words = h.words();
    let dims = &words[..10];
    if dims.iter().any(|d| !(1..=1_000_000).contains(d)) || h.ftype < 0 {
        return Err(HeaderError::Implausible(h));
    }
    Ok(h)
}

/// Streams a ggml file out, counting bytes and tensors.
pub struct Writer<W: Write> {
    out: W,
    bytes: u64,
    tensors: usize,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Self { out, bytes: 0, tensors: 0 }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.bytes += b.len() as u64;
        Ok(())
    }

    fn put_i32(&mut self, v: i32) -> io::Result<()> {
        self.put(&v.to_le_bytes())
    }

    pub fn header(&mut self, h: &Hparams) -> io::Result<()> {
        self.put(&MAGIC.to_le_bytes())?;
        for v in h.words() {
            self.put_i32(v)?;
        }
        Ok(())
    }

    pub fn filters(&mut self, n_mel: usize, n_fft: usize, data: &[f32]) -> io::Result<()> {
        assert_eq!(data.len(), n_mel * n_fft, "filterbank size");
        self.put_i32(n_mel as i32)?;
        self.put_i32(n_fft as i32)?;
        let mut bytes = Vec::with_capacity(data.len() * 4);
        crate::model::quant::push_f32(data, &mut bytes);
        self.put(&bytes)
    }

    pub fn vocab(&mut self, tokens: &[Vec<u8>]) -> io::Result<()> {
        self.put_i32(tokens.len() as i32)?;
        for t in tokens {
            self.put(&(t.len() as u32).to_le_bytes())?;
            self.put(t)?;
        }
        Ok(())
    }

    /// One tensor; `ne` is in ggml order (fastest-varying dimension first).
    pub fn tensor(&mut self, name: &str, ne: &[usize], ttype: TensorType, data: &[u8]) -> io::Result<()> {
        self.put_i32(ne.len() as i32)?;
        self.put_i32(name.len() as i32)?;
        self.put_i32(ttype as i32)?;
        for d in ne {
            self.put_i32(*d as i32)?;
        }
        self.put(name.as_bytes())?;
        self.put(data)?;
        self.tensors += 1;
        Ok(())
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    pub fn tensors_written(&self) -> usize {
        self.tensors
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hparams() -> Hparams {
        Hparams {
            n_vocab: 51865,
            n_audio_ctx: 1500,
            n_audio_state: 512,
            n_audio_head: 8,
            n_audio_layer: 6,
            n_text_ctx: 448,
            n_text_state: 512,
            n_text_head: 8,
            n_text_layer: 6,
            n_mels: 80,
            ftype: QNT_VERSION * QNT_VERSION_FACTOR + FTYPE_Q8_0,
        }
    }

    #[test]
    fn header_round_trips() {
        let mut w = Writer::new(Vec::new());
        w.header(&hparams()).unwrap();
        w.filters(1, 2, &[0.5, 0.25]).unwrap();
        w.vocab(&[b"a".to_vec(), Vec::new()]).unwrap();
        w.tensor("x", &[2, 1], TensorType::F32, &[0; 8]).unwrap();
        assert_eq!(w.tensors_written(), 1);
        let n = w.bytes_written();
        let bytes = w.finish().unwrap();
        assert_eq!(n as usize, bytes.len());
        assert_eq!(bytes.len(), 48 + 8 + 8 + 4 + 5 + 4 + 4 * 5 + 1 + 8);
        let h = read_hparams(&mut bytes.as_slice()).unwrap();
        assert_eq!(h, hparams());
        assert!(h.multilingual());
        assert_eq!(h.weight_type_name(), "q8_0");
        assert_eq!(h.quantization_version(), 2);
        assert_eq!(h.size_name(), "base");
    }

    #[test]
    fn bad_headers_are_explained() {
        assert!(read_hparams(&mut &b"ggml"[..]).unwrap_err().to_string().contains("shorter"));
        let mut gguf = b"GGUF".to_vec();
        gguf.resize(48, 0);
        assert!(read_hparams(&mut gguf.as_slice()).unwrap_err().to_string().contains("GGUF"));
        let mut zeros = MAGIC.to_le_bytes().to_vec();
        zeros.resize(48, 0);
        assert!(read_hparams(&mut zeros.as_slice()).unwrap_err().to_string().contains("implausible"));
    }
}
