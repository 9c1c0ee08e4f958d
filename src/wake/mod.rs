//! Wake-word detection: openWakeWord's models run in pure Rust on tract, fed 80 ms blocks of
//! 16 kHz audio, deciding when the assistant should start listening.
//!
//! # Pipeline (as openWakeWord 0.5.1 computes it)
//!
//! For every block of [`BLOCK_SAMPLES`] (1280) samples:
//!
//! 1. the samples are scaled to 16-bit values; `melspectrogram.onnx` runs over the block plus
//!    the previous 480 samples and gives 8 mel frames of 32 bands (only the last 5 for the
//!    first block after start or reset, which has no context), rescaled `x / 10 + 2`;
//! 2. `embedding_model.onnx` turns the newest 76 mel frames (775 ms) into one 96-value speech
//!    embedding;
//! 3. the wake word's classifier (e.g. `hey_jarvis_v0.1.onnx`) scores the newest 16 embeddings
//!    (1.28 s) between 0 and 1.
//!
//! At start and after [`WakeDetector::reset`] the mel window holds ones and the embedding
//! window holds embeddings of quiet synthetic noise (openWakeWord uses random noise; ours is
//! a fixed sequence, so results are repeatable), and the first 5 scores are forced to 0.
//! A score at or above the threshold fires, unless the last detection is less than the
//! refractory period ago, counted in audio fed rather than wall-clock time.
//!
//! Scores match the Python package (onnxruntime) to about 4 decimals once its random start-up
//! noise has left the window (`bench/wake` compares them).
//!
//! # Models
//!
//! `[wake] models_dir` holds `melspectrogram.onnx`, `embedding_model.onnx` and the named
//! classifiers `<name>_v0.1.onnx` (`hey_jarvis`, `alexa`, `hey_mycroft`), as extracted from the
//! `openwakeword==0.5.1` wheel by `scripts/setup-test-env`. `[wake] model` may instead be a
//! path to another openWakeWord classifier (`….onnx`; relative paths are looked up in
//! `models_dir`). The models are licensed CC BY-NC-SA 4.0 (see `models/README.md`).
//!
//! # Privacy
//!
//! Audio-derived state (the last 110 ms of samples, 76 mel frames, 16 embeddings, and each
//! network output) lives in buffers this module overwrites on [`WakeDetector::reset`] and on
//! drop. tract's intermediate tensors during one run are freed without being overwritten.
//! Nothing here writes to disk or logs audio.

mod branch;
mod embedding;
mod error;
mod features;
mod network;
mod trigger;

use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroize;

use error::KNOWN_MODELS;
pub use error::WakeError;
use features::{EMBEDDING_DIM, Features};
use network::{Network, Role};
use trigger::Trigger;

use crate::audio::BLOCK_SAMPLES;

/// What [`WakeDetector::load`] needs: which wake word, where its files are, how eager to be.
#[derive(Debug, Clone, PartialEq)]
pub struct WakeOptions {
    /// Folder with `melspectrogram.onnx`, `embedding_model.onnx` and the named classifiers.
    pub models_dir: PathBuf,
    /// `hey_jarvis`, `alexa`, `hey_mycroft`, or a path to an openWakeWord `.onnx` classifier
    /// (relative paths are looked up in `models_dir`).
    pub model: String,
    /// Scores at or above this fire (0–1; openWakeWord's usual value is 0.5).
    pub threshold: f32,
    /// No second detection until this much audio has been fed after one.
    pub refractory: Duration,
}

impl From<&crate::config::WakeSettings> for WakeOptions {
    fn from(s: &crate::config::WakeSettings) -> Self {
        WakeOptions {
            models_dir: s.models_dir.clone(),
            model: s.model.clone(),
            threshold: s.threshold,
            refractory: s.refractory,
        }
    }
}

/// The wake word was heard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// The classifier's score for the block that fired (at or above the threshold).
    pub score: f32,
}

/// An always-on wake-word detector: feed it every block of audio, it says when the wake word
/// was spoken. Loaded once; [`WakeDetector::process`] does not allocate beyond what tract does
/// inside a run.
pub struct WakeDetector {
    /// For logs: "hey_jarvis", or the file stem of a custom model.
    name: String,
    /// Mel-spectrogram and embedding networks with their rolling windows.
    features: Features,
    /// The wake word's classifier; its input tensor is the rolling window of embeddings.
    classifier: Network,
    /// The classifier window's start-up content: embeddings of synthetic noise.
    prime: Vec<f32>,
    /// Warm-up, threshold and refractory period.
    trigger: Trigger,
    /// Score of the last block processed (0 during warm-up).
    last_score: f32,
    /// Blocks whose inference failed (logged once, then counted).
    failures: u64,
}

impl WakeDetector {
    /// Loads the three networks named by `options` and optimises them for 80 ms blocks.
    ///
    /// Fails with a message naming the missing or broken file, or the bad `[wake] model`
    /// value, and the fix.
    pub fn load(options: &WakeOptions) -> Result<Self, WakeError> {
        let started = std::time::Instant::now();
        let classifier_file = resolve_model(&options.models_dir, &options.model)?;
        let mut features = Features::load(&options.models_dir)?;
        let classifier = Network::load(
            &classifier_file.path,
            Role { name: "wake-word model", custom: classifier_file.custom },
            classifier_input_shape,
            1,
        )?;
        let frames = classifier.input().len() / EMBEDDING_DIM;
        let prime = features.noise_embeddings(frames).map_err(|e| WakeError::Broken {
            role: "mel-spectrogram or speech embedding model",
            path: features.mel_path().to_owned(),
            cause: e.into(),
            custom: false,
        })?;
        if prime.len() != frames * EMBEDDING_DIM {
            return Err(WakeError::WrongShape {
                role: "wake-word model",
                path: classifier_file.path,
                detail: format!("it wants {frames} embeddings, more than this build prepares"),
            });
        }
        let mut detector = WakeDetector {
            name: classifier_file.name,
            features,
            classifier,
            prime,
            trigger: Trigger::new(options.threshold, options.refractory),
            last_score: 0.0,
            failures: 0,
        };
        detector.reset();
        tracing::debug!(
            model = %detector.name,
            frames,
            load_ms = started.elapsed().as_millis() as u64,
            "wake-word detector loaded"
        );
        Ok(detector)
    }

    /// Feeds one block of [`BLOCK_SAMPLES`] (1280) 16 kHz mono samples in [-1, 1].
    ///
    /// Returns `Some` when the wake word fires: the block's score is at or above the threshold
    /// and the last detection is at least the refractory period of audio ago. A shorter block
    /// (the end of a file) is padded with silence; a longer one is processed in blocks of 1280
    /// and reports the first detection among them. Inference errors (not expected with models
    /// that loaded) are logged once, counted, and score 0.
    pub fn process(&mut self, block: &[f32]) -> Option<Detection> {
        let mut detection = None;
        for chunk in block.chunks(BLOCK_SAMPLES) {
            let raw = match self.score_block(chunk) {
                Ok(score) => score,
                Err(e) => {
                    self.failures += 1;
                    if self.failures == 1 {
                        tracing::error!(model = %self.name, "wake-word inference failed (scoring 0 from now on while it fails): {e:#}");
                    }
                    0.0
                }
            };
            let (score, fire) = self.trigger.step(raw, chunk.len());
            self.last_score = score;
            if fire && detection.is_none() {
                tracing::debug!(model = %self.name, score, "wake word detected");
                detection = Some(Detection { score });
            }
        }
        detection
    }

    /// The score of the last processed block (0 during the warm-up), for benchmarks and debug
    /// logs.
    pub fn last_score(&self) -> f32 {
        self.last_score
    }

    /// Forgets all audio-derived state (call it after a command was captured): the buffers are
    /// overwritten, the windows return to their start-up content, the next 5 blocks score 0,
    /// and no refractory period is running.
    pub fn reset(&mut self) {
        self.features.reset();
        let window = self.classifier.input_mut();
        window.zeroize();
        window.copy_from_slice(&self.prime);
        self.trigger.reset();
        self.last_score = 0.0;
    }

    /// The wake word's name for logs, e.g. "hey_jarvis".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs one block through the three networks and returns the classifier's raw score.
    fn score_block(&mut self, block: &[f32]) -> tract_onnx::prelude::TractResult<f32> {
        let embedding = self.features.push(block)?;
        let window = self.classifier.input_mut();
        window.copy_within(EMBEDDING_DIM.., 0);
        let tail = window.len() - EMBEDDING_DIM;
        window[tail..].copy_from_slice(embedding);
        let score = self.classifier.run()?.values()[0];
        Ok(score)
    }
}

impl std::fmt::Debug for WakeDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeDetector")
            .field("name", &self.name)
            .field("trigger", &self.trigger)
            .field("last_score", &self.last_score)
            .field("failures", &self.failures)
            .finish_non_exhaustive()
    }
}

/// The classifier's input for its declared shape `[1, frames, 96]` (batch may be symbolic).
fn classifier_input_shape(declared: &[Option<usize>]) -> Result<Vec<usize>, String> {
    match declared {
        [Some(1) | None, Some(frames @ 1..=64), Some(EMBEDDING_DIM)] => Ok(vec![1, *frames, EMBEDDING_DIM]),
        other => Err(format!("its input has shape {}, expected [1, frames, 96]", show_dims(other))),
    }
}

fn show_dims(dims: &[Option<usize>]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.map_or_else(|| "?".to_owned(), |n| n.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

/// Every file the detector for `[wake] model` = `model` loads, in load order: the mel and
/// embedding networks, then the classifier, resolved exactly as [`WakeDetector::load`] resolves
/// them (so `hearth doctor` checks the files `hearth run` will open).
pub fn model_files(models_dir: &Path, model: &str) -> Result<[PathBuf; 3], WakeError> {
    let classifier = resolve_model(models_dir, model)?;
    Ok([models_dir.join(features::MEL_FILE), models_dir.join(features::EMBEDDING_FILE), classifier.path])
}

/// The classifier file `[wake] model` names.
#[derive(Debug, Clone, PartialEq)]
struct ModelFile {
    /// Name for logs.
    name: String,
    /// Where the file is.
    path: PathBuf,
    /// Whether the user gave a path (rather than a known name).
    custom: bool,
}

/// Resolves `[wake] model`: a known name (any case; spaces or dashes for underscores; an
/// optional `_v0.1`) becomes `<models_dir>/<name>_v0.1.onnx`; a value ending in `.onnx` is a
/// path, relative ones looked up in `models_dir`.
fn resolve_model(models_dir: &Path, model: &str) -> Result<ModelFile, WakeError> {
    let trimmed = model.trim();
    if trimmed.to_ascii_lowercase().ends_with(".onnx") {
        let given = Path::new(trimmed);
        let path = if given.is_absolute() { given.to_owned() } else { models_dir.join(given) };
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| trimmed.to_owned());
        return Ok(ModelFile { name, path, custom: true });
    }
    let normalized = trimmed.to_ascii_lowercase().replace([' ', '-'], "_");
    let base = normalized.strip_suffix("_v0.1").unwrap_or(&normalized);
    match KNOWN_MODELS.iter().find(|&&known| known == base) {
        Some(&known) => {
            Ok(ModelFile { name: known.to_owned(), path: models_dir.join(format!("{known}_v0.1.onnx")), custom: false })
        }
        None => Err(WakeError::UnknownModel { value: model.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path, model: &str) -> WakeOptions {
        WakeOptions {
            models_dir: dir.to_owned(),
            model: model.to_owned(),
            threshold: 0.5,
            refractory: Duration::from_secs(2),
        }
    }

    #[test]
    fn known_names_resolve_into_the_models_dir() {
        let dir = Path::new("/opt/hearth/models");
        for (value, name) in [
            ("hey_jarvis", "hey_jarvis"),
            ("alexa", "alexa"),
            ("hey_mycroft", "hey_mycroft"),
            ("Hey Jarvis", "hey_jarvis"),
            ("hey-mycroft", "hey_mycroft"),
            ("hey_jarvis_v0.1", "hey_jarvis"),
            (" alexa ", "alexa"),
        ] {
            let file = resolve_model(dir, value).unwrap();
            assert_eq!(file.name, name, "{value}");
            assert_eq!(file.path, dir.join(format!("{name}_v0.1.onnx")), "{value}");
            assert!(!file.custom);
        }
    }

    #[test]
    fn onnx_values_are_paths_relative_to_the_models_dir() {
        let dir = Path::new("/opt/hearth/models");
        let abs = resolve_model(dir, "/srv/words/ok_nabu.onnx").unwrap();
        assert_eq!(abs, ModelFile { name: "ok_nabu".into(), path: "/srv/words/ok_nabu.onnx".into(), custom: true });
        let rel = resolve_model(dir, "custom/computer_v2.ONNX").unwrap();
        assert_eq!(rel.path, dir.join("custom/computer_v2.ONNX"));
        assert_eq!(rel.name, "computer_v2");
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        for value in ["hey_siri", "", "jarvis", "hey_jarvis.tflite"] {
            let err = resolve_model(Path::new("models"), value).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, WakeError::UnknownModel { .. }), "{value}: {msg}");
            assert!(
                msg.contains("[wake] model must be hey_jarvis, alexa, hey_mycroft or a path to an .onnx file"),
                "{msg}"
            );
            assert!(msg.contains(&format!("{value:?}")), "{msg}");
        }
    }

    #[test]
    fn a_missing_models_dir_names_the_file_and_how_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = WakeDetector::load(&options(dir.path(), "hey_jarvis")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, WakeError::MissingFile { custom: false, .. }), "{msg}");
        assert!(msg.contains(&dir.path().join("melspectrogram.onnx").display().to_string()), "{msg}");
        assert!(msg.contains("scripts/setup-test-env"), "{msg}");
        assert!(msg.contains("pip download openwakeword==0.5.1"), "{msg}");
        assert!(msg.contains(&format!("into {}", dir.path().display())), "{msg}");
    }

    #[test]
    fn an_unknown_name_is_reported_before_any_file_is_looked_at() {
        let err = WakeDetector::load(&options(Path::new("/nonexistent"), "computer")).unwrap_err();
        assert!(matches!(err, WakeError::UnknownModel { .. }), "{err}");
    }

    #[test]
    fn a_missing_custom_model_points_at_the_config() {
        let err = WakeError::MissingFile { role: "wake-word model", path: "/srv/x.onnx".into(), custom: true };
        let msg = err.to_string();
        assert!(msg.starts_with("wake-word model /srv/x.onnx is missing: check [wake] model"), "{msg}");
    }

    #[test]
    fn a_file_that_is_not_onnx_is_reported_as_broken() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("melspectrogram.onnx"), b"this is not a protobuf").unwrap();
        let err = WakeDetector::load(&options(dir.path(), "alexa")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, WakeError::Broken { .. }), "{msg}");
        assert!(msg.contains("melspectrogram.onnx cannot be loaded"), "{msg}");
        assert!(msg.contains("delete it and run scripts/setup-test-env"), "{msg}");
    }

    #[test]
    fn classifier_shapes_are_checked() {
        assert_eq!(classifier_input_shape(&[Some(1), Some(16), Some(96)]), Ok(vec![1, 16, 96]));
        assert_eq!(classifier_input_shape(&[None, Some(28), Some(96)]), Ok(vec![1, 28, 96]));
        let err = classifier_input_shape(&[Some(1), None, Some(32)]).unwrap_err();
        assert_eq!(err, "its input has shape [1, ?, 32], expected [1, frames, 96]");
    }

    #[test]
    fn options_come_from_the_config() {
        let text = "[wake]\nmodel = \"alexa\"\nthreshold = 0.7\nrefractory = \"1500ms\"\n";
        let raw = crate::config::RawConfig::parse(text, Path::new("/etc/hearth/config.toml")).unwrap();
        let settings = raw.validate(Path::new("/etc/hearth/config.toml"), Path::new("/etc/hearth")).unwrap();
        let o = WakeOptions::from(&settings.wake);
        assert_eq!(o.model, "alexa");
        assert_eq!(o.threshold, 0.7);
        assert_eq!(o.refractory, Duration::from_millis(1500));
        assert_eq!(o.models_dir, Path::new("/etc/hearth/models"));
    }

    #[test]
    fn the_detector_can_move_to_the_dsp_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<WakeDetector>();
    }
}
