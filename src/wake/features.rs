//! openWakeWord's shared front-end: 80 ms blocks of audio → mel-spectrogram frames → one
//! 96-value speech embedding per block, with the rolling windows in between.
//!
//! The windows live in the networks' own inputs (no extra copies): the mel network's input
//! tensor is the last [`MEL_INPUT`] samples, the embedding network's window is the last
//! [`EMBEDDING_WINDOW`] mel frames. The mel network runs on tract; the embedding network is
//! computed by `embedding.rs`, only for the frames each block adds.

/// The mel-spectrogram network's file in `[wake] models_dir`.
pub const MEL_FILE: &str = "melspectrogram.onnx";
/// The speech-embedding network's file in `[wake] models_dir`.
pub const EMBEDDING_FILE: &str = "embedding_model.onnx";

use std::path::Path;

use tract_onnx::prelude::TractResult;
use zeroize::Zeroize;

use super::WakeError;
use super::embedding::{EmbeddingNet, NetError};
use super::network::{Network, Role};
use crate::audio::BLOCK_SAMPLES;

/// Samples of the previous block kept as context for the mel network (three 10 ms hops).
const MEL_CONTEXT: usize = 480;
/// Samples the mel network sees per block: the new block plus its context.
pub(super) const MEL_INPUT: usize = BLOCK_SAMPLES + MEL_CONTEXT;
/// Mel bands per frame.
const MEL_BINS: usize = 32;
/// Mel frames the network makes from [`MEL_INPUT`] samples (512-sample frames every 160).
const MEL_FRAMES: usize = 8;
/// Mel frames a block adds right after start or reset: openWakeWord has no context then and
/// runs the network on the block alone, which gives the last 5 of the 8 frames.
const MEL_FRAMES_FRESH: usize = 5;
/// Mel frames the embedding network looks at (775 ms).
pub(super) const EMBEDDING_WINDOW: usize = 76;
/// Values per speech embedding.
pub(super) const EMBEDDING_DIM: usize = 96;
/// Mel frames between two embeddings (one block).
const EMBEDDING_STEP: usize = 8;
/// What the mel window holds before any audio (openWakeWord starts from ones).
const MEL_START_VALUE: f32 = 1.0;
/// Seconds of synthetic noise whose embeddings fill the classifier's window at start, as
/// openWakeWord does (it uses 4 s of random 16-bit values in ±1000).
const PRIME_SECONDS: usize = 4;
/// Amplitude (in 16-bit units) of that noise.
const PRIME_AMPLITUDE: i64 = 1000;

/// The front-end's networks and state.
pub(super) struct Features {
    /// Waveform → mel frames. Input: `[1, MEL_INPUT]` samples at 16-bit scale.
    mel: Network,
    /// 76 mel frames → one embedding. Input: the rolling mel window, 76 × 32.
    embedding: EmbeddingNet,
    /// No block since start or reset: the next one has no context (see [`MEL_FRAMES_FRESH`]).
    fresh: bool,
}

impl Features {
    /// Loads `melspectrogram.onnx` and `embedding_model.onnx` from `dir`.
    pub(super) fn load(dir: &Path) -> Result<Self, WakeError> {
        let mel = Network::load(
            &dir.join(MEL_FILE),
            Role { name: "mel-spectrogram model", custom: false },
            |_| Ok(vec![1, MEL_INPUT]),
            MEL_FRAMES * MEL_BINS,
        )?;
        let embedding = load_embedding(&dir.join(EMBEDDING_FILE))?;
        let mut features = Features { mel, embedding, fresh: true };
        features.reset();
        Ok(features)
    }

    /// Back to the start state, with every buffer that held audio-derived values overwritten.
    pub(super) fn reset(&mut self) {
        self.mel.wipe_input();
        self.embedding.reset(MEL_START_VALUE);
        self.fresh = true;
    }

    /// Feeds one block (at most [`BLOCK_SAMPLES`] samples in [-1, 1]; a shorter one is padded
    /// with silence) and returns the embedding of the newest 775 ms.
    pub(super) fn push(&mut self, block: &[f32]) -> TractResult<&[f32]> {
        debug_assert!(block.len() <= BLOCK_SAMPLES);
        let raw = self.mel.input_mut();
        raw.copy_within(BLOCK_SAMPLES.., 0);
        let new = &mut raw[MEL_CONTEXT..];
        for (dst, &s) in new.iter_mut().zip(block) {
            *dst = to_pcm16(s);
        }
        new[block.len()..].fill(0.0);
        let mel = self.mel.run()?;
        let added = if self.fresh { MEL_FRAMES_FRESH } else { MEL_FRAMES };
        self.fresh = false;
        let mut frames = [0.0f32; MEL_FRAMES * MEL_BINS];
        let new = &mut frames[..added * MEL_BINS];
        for (dst, &v) in new.iter_mut().zip(&mel.values()[(MEL_FRAMES - added) * MEL_BINS..]) {
            *dst = mel_transform(v);
        }
        drop(mel);
        let embedding = self.embedding.push(new);
        frames.zeroize();
        Ok(embedding)
    }

    /// Embeddings of [`PRIME_SECONDS`] of quiet synthetic noise (not audio from the room), at
    /// least `count` of them: what openWakeWord's classifier window holds at start. Leaves the
    /// front-end in its start state.
    pub(super) fn noise_embeddings(&mut self, count: usize) -> TractResult<Vec<f32>> {
        let frames_needed = EMBEDDING_WINDOW + EMBEDDING_STEP * count.saturating_sub(1);
        let blocks = (PRIME_SECONDS * crate::audio::SAMPLE_RATE as usize / BLOCK_SAMPLES - 1)
            .max(frames_needed.div_ceil(MEL_FRAMES));
        let mut noise = NoiseSamples::new();
        let mut frames = Vec::with_capacity(blocks * MEL_FRAMES * MEL_BINS);
        let raw = self.mel.input_mut();
        raw.iter_mut().for_each(|s| *s = noise.next());
        for block in 0..blocks {
            if block > 0 {
                let raw = self.mel.input_mut();
                raw.copy_within(BLOCK_SAMPLES.., 0);
                raw[MEL_CONTEXT..].iter_mut().for_each(|s| *s = noise.next());
            }
            frames.extend(self.mel.run()?.values().iter().map(|&v| mel_transform(v)));
        }
        // Windows every EMBEDDING_STEP frames: the first whole, then each by moving the last.
        let mut embeddings = Vec::new();
        let (first, mut rest) = frames.split_at(EMBEDDING_WINDOW * MEL_BINS); // blocks >= frames_needed
        self.embedding.window_mut().copy_from_slice(first);
        embeddings.extend_from_slice(self.embedding.run());
        while rest.len() >= EMBEDDING_STEP * MEL_BINS {
            let (step, later) = rest.split_at(EMBEDDING_STEP * MEL_BINS);
            embeddings.extend_from_slice(self.embedding.push(step));
            rest = later;
        }
        let keep = count.min(embeddings.len() / EMBEDDING_DIM) * EMBEDDING_DIM;
        embeddings.drain(..embeddings.len() - keep);
        self.reset();
        Ok(embeddings)
    }

    /// The mel-spectrogram model's file, for messages.
    pub(super) fn mel_path(&self) -> &Path {
        self.mel.path()
    }
}

/// A sample in [-1, 1] at the 16-bit scale openWakeWord's models expect, rounded and clipped
/// like a 16-bit PCM sample.
fn to_pcm16(sample: f32) -> f32 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0)
}

/// openWakeWord's fixed rescaling of the mel network's output (brings it close to the
/// TensorFlow front-end the embedding model was trained with).
fn mel_transform(value: f32) -> f32 {
    value / 10.0 + 2.0
}

/// Reads the speech embedding network (computed by `embedding.rs`).
fn load_embedding(path: &Path) -> Result<EmbeddingNet, WakeError> {
    let role = "speech embedding model";
    if !path.is_file() {
        return Err(WakeError::MissingFile { role, path: path.to_owned(), custom: false });
    }
    let net = EmbeddingNet::load(path, EMBEDDING_WINDOW, MEL_BINS).map_err(|e| match e {
        NetError::Unreadable { .. } => {
            WakeError::Broken { role, path: path.to_owned(), cause: e.into(), custom: false }
        }
        NetError::Layout(detail) => WakeError::WrongShape { role, path: path.to_owned(), detail: detail.into_owned() },
    })?;
    if net.output_len() != EMBEDDING_DIM {
        return Err(WakeError::WrongShape {
            role,
            path: path.to_owned(),
            detail: format!("its output has {} values, expected {EMBEDDING_DIM}", net.output_len()),
        });
    }
    Ok(net)
}

/// Deterministic uniform integers in `[-PRIME_AMPLITUDE, PRIME_AMPLITUDE)` (SplitMix64).
struct NoiseSamples(u64);

impl NoiseSamples {
    fn new() -> Self {
        NoiseSamples(0x6F77_7730_2E35_2E31)
    }

    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let span = 2 * PRIME_AMPLITUDE as u64;
        ((z % span) as i64 - PRIME_AMPLITUDE) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_scaled_rounded_and_clipped_like_pcm16() {
        assert_eq!(to_pcm16(0.0), 0.0);
        assert_eq!(to_pcm16(0.5), 16384.0);
        assert_eq!(to_pcm16(-1.0), -32768.0);
        assert_eq!(to_pcm16(1.0), 32767.0);
        assert_eq!(to_pcm16(3.0 / 32768.0 + 0.4 / 32768.0), 3.0);
        assert_eq!(to_pcm16(-2.0), -32768.0);
    }

    #[test]
    fn prime_noise_is_deterministic_and_in_range() {
        let a: Vec<f32> = {
            let mut n = NoiseSamples::new();
            (0..10_000).map(|_| n.next()).collect()
        };
        let mut n = NoiseSamples::new();
        assert!(a.iter().all(|&s| s == n.next()));
        assert!(a.iter().all(|&s| (-1000.0..1000.0).contains(&s) && s.fract() == 0.0));
        let mean = a.iter().map(|&s| f64::from(s)).sum::<f64>() / a.len() as f64;
        assert!(mean.abs() < 30.0, "mean {mean}");
    }
}
