//! The one error type of the audio front-end.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while getting audio into Hearth.
///
/// Every message names the file or device concerned, says what is wrong and, where there is
/// one, how to fix it. Messages never contain audio data.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The input file does not exist.
    #[error("{}: file not found", path.display())]
    NotFound {
        /// The file that was asked for.
        path: PathBuf,
    },

    /// Reading a file or stream failed at the operating-system level.
    #[error("cannot read {what}: {source}")]
    Io {
        /// The file (its path) or stream that failed.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The file is not a RIFF/WAVE file at all.
    #[error(
        "{} is not a WAV file (no RIFF/WAVE header); convert it with \
         `sox in.mp3 -r 16000 -c 1 out.wav`",
        path.display()
    )]
    NotWav {
        /// The offending file.
        path: PathBuf,
    },

    /// The file is a WAV file, but its audio encoding is not one Hearth decodes.
    #[error(
        "{} uses an unsupported WAV format: {detail}; Hearth reads 8/16/24/32-bit integer PCM \
         and 32-bit float; convert it with `sox in.wav -b 16 -e signed-integer out.wav`",
        path.display()
    )]
    UnsupportedFormat {
        /// The offending file.
        path: PathBuf,
        /// What the format is, e.g. "A-law (format tag 6)" or "64-bit float".
        detail: String,
    },

    /// The WAV header is damaged or inconsistent.
    #[error(
        "{} is not a valid WAV file: {detail}; re-export it, or convert it with \
         `sox in.wav -r 16000 -c 1 out.wav`",
        path.display()
    )]
    InvalidWav {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// The header's sample rate is outside what any recording uses (a 1 Hz header would make
    /// a few kilobytes "200 s of audio").
    #[error(
        "{} has a sample rate of {rate} Hz; Hearth reads WAV files of {} to {} Hz: \
         convert it with `sox in.wav -r 16000 -c 1 out.wav`",
        path.display(),
        crate::audio::WAV_RATES.start(),
        crate::audio::WAV_RATES.end()
    )]
    SampleRate {
        /// The offending file.
        path: PathBuf,
        /// The rate its header announces.
        rate: u32,
    },

    /// The file ends before the audio its header announces.
    #[error(
        "{} is truncated: header announces {announced} samples, file holds {found}; \
         the file was probably cut off while being copied or recorded",
        path.display()
    )]
    Truncated {
        /// The offending file.
        path: PathBuf,
        /// Samples (all channels counted) the header announces.
        announced: u64,
        /// Complete samples actually present.
        found: u64,
    },

    /// The WAV header ends before the audio data starts.
    #[error(
        "{} is truncated: the file ends inside the WAV header ({len} bytes), before any audio",
        path.display()
    )]
    TruncatedHeader {
        /// The offending file.
        path: PathBuf,
        /// Size of the file in bytes.
        len: u64,
    },

    /// The input holds no audio at all.
    #[error("{what} is empty: {detail}")]
    Empty {
        /// The file (its path) or stream concerned.
        what: String,
        /// Why it counts as empty, with a hint.
        detail: String,
    },

    /// A sample rate or channel count that cannot be processed (zero, or absurdly large).
    #[error("unsupported audio format from {what}: {detail}")]
    InvalidFormat {
        /// Where the format came from.
        what: String,
        /// What is wrong with it.
        detail: String,
    },

    /// No audio input device exists at all.
    #[error(
        "no microphone found: {}. Available input devices: {}. Connect a microphone and set \
         `[audio] device = \"…\"` in config.toml to one of them, or use `--input FILE.wav`",
        trim(detail),
        list(available)
    )]
    NoInputDevice {
        /// What the audio system said.
        detail: String,
        /// Input devices the audio system lists (may be only virtual ones such as `null`).
        available: Vec<String>,
    },

    /// The configured device name matches no input device.
    #[error(
        "no audio input device named \"{name}\". Available input devices: {}. Set \
         `[audio] device = \"…\"` in config.toml to one of them, or use `--input FILE.wav`",
        list(available)
    )]
    UnknownDevice {
        /// The name that was asked for.
        name: String,
        /// Input devices the audio system lists.
        available: Vec<String>,
    },

    /// The device exists (or is the default) but could not be opened for capture.
    #[error(
        "cannot open audio input device \"{device}\": {}. Available input devices: {}. Check \
         that the microphone is connected, set `[audio] device = \"…\"` in config.toml to a \
         working device, or use `--input FILE.wav`",
        trim(detail),
        list(available)
    )]
    DeviceOpen {
        /// The device that was being opened.
        device: String,
        /// The audio system's explanation.
        detail: String,
        /// Input devices the audio system lists.
        available: Vec<String>,
    },

    /// The capture stream failed after it started (device unplugged, stalled, …).
    #[error("audio input device \"{device}\" failed while capturing: {detail}")]
    Stream {
        /// The device that failed.
        device: String,
        /// What happened.
        detail: String,
    },

    /// The resampler could not be built or failed (an internal error).
    #[error("resampling from {input_rate} Hz failed: {detail}")]
    Resample {
        /// The rate being converted from.
        input_rate: u32,
        /// rubato's explanation.
        detail: String,
    },
}

/// `detail` without trailing whitespace and full stops, to embed it in a sentence (also used by
/// the speaker's errors in `feedback.rs`).
pub(crate) fn trim(detail: &str) -> &str {
    detail.trim_end().trim_end_matches('.')
}

/// `"a", "b"` or `none`.
pub(crate) fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
    }
}
