//! Audio front-end: gets audio from a microphone, a WAV file or raw PCM on standard input, and
//! hands every consumer the same thing: [`SAMPLE_RATE`] (16 kHz) mono `f32` samples in `[-1, 1]`.
//!
//! # Pieces
//!
//! - [`Samples`]: the buffer for captured audio; wipes itself when dropped.
//! - [`Resampler16k`]: streaming downmix to mono and resampling to 16 kHz, time-aligned.
//! - [`Source`]: a stream of 16 kHz mono blocks, pulled by the pipeline
//!   (e.g. [`BLOCK_SAMPLES`] = 80 ms at a time). Implemented by [`WavSource`],
//!   [`RawS16leSource`], [`Microphone`] and [`LiveMicrophone`]; all of them go through
//!   [`Resampler16k`].
//! - [`read_wav`], [`read_raw_s16le`], [`read_all`]: whole-input convenience functions.
//! - [`list_input_devices`], [`input_devices`], [`Microphone`]: capture with cpal.
//! - [`LiveMicrophone`]: a [`Microphone`] that is reopened when it is unplugged and plugged
//!   back, handing out silence in real time while it is away ([`CaptureDevice`] is the seam
//!   its tests use to simulate such a device).
//! - [`AudioError`]: the module's one error type; messages name the file or device and a fix.
//!
//! # Privacy
//!
//! Captured audio stays in memory, in buffers that are overwritten as soon as they are no longer
//! needed (see [`Samples`]). Nothing in this module ever writes audio to a file.

pub(crate) mod device;
mod error;
mod live;
mod mic;
mod raw;
mod resample;
mod ring;
mod samples;
mod wav;

pub use device::{DeviceInfo, HostError};
pub(crate) use device::{StreamBuilder, build_stream, host, is_virtual};
pub use error::AudioError;
/// Helpers for device error messages, shared with the speaker's (`feedback.rs`).
pub(crate) use error::{list as device_list, trim as trim_detail};
pub use live::{CaptureDevice, LiveMicrophone};
pub use mic::{Microphone, input_devices, list_input_devices};
pub use raw::{RawS16leSource, read_raw_s16le};
pub use resample::Resampler16k;
pub use samples::Samples;
pub use wav::{WavSource, read_wav};

/// The sample rate of all audio handed downstream, in Hz (mono, `f32` in `[-1, 1]`).
pub const SAMPLE_RATE: u32 = 16_000;

/// Sample rates a WAV file may have: telephone quality to high-resolution studio audio. Outside
/// it the header is wrong (a 1 Hz header turns a few kilobytes into minutes of "audio").
pub const WAV_RATES: std::ops::RangeInclusive<u32> = 8_000..=192_000;

/// A convenient block size for pulling from a [`Source`]: 1280 samples = 80 ms at 16 kHz.
pub const BLOCK_SAMPLES: usize = 1_280;

/// A stream of 16 kHz mono audio that the pipeline pulls blocks from.
///
/// Every implementation converts its native format with [`Resampler16k`], so what comes out is
/// always [`SAMPLE_RATE`] mono `f32` in `[-1, 1]`, whatever went in.
pub trait Source {
    /// Fills `block` with the next samples and returns how many were written.
    ///
    /// The block is filled completely unless the stream ends: a shorter count means the end was
    /// reached, and `0` means there is nothing more. Live sources (the microphone) never end and
    /// wait until enough audio has arrived.
    ///
    /// Callers that keep the audio should read into a [`Samples`] (it derefs to `&mut [f32]`) so
    /// that it is wiped when done.
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError>;

    /// What this source reads from (a path, "standard input", a device name), for messages.
    fn describe(&self) -> String;
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
        (**self).read(block)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Reads a finite source to its end. Do not use it on a [`Microphone`]: that never ends.
pub fn read_all<S: Source + ?Sized>(source: &mut S) -> Result<Samples, AudioError> {
    let mut all = Samples::new();
    let mut block = Samples::zeros(16 * BLOCK_SAMPLES);
    loop {
        let n = source.read(&mut block)?;
        all.extend_from_slice(&block[..n]);
        if n < block.len() {
            return Ok(all);
        }
    }
}

/// Hands out `pending` audio into `block`, removing what was handed out (and wiping it).
fn take_pending(pending: &mut Samples, block: &mut [f32]) -> usize {
    let n = pending.len().min(block.len());
    block[..n].copy_from_slice(&pending[..n]);
    pending.drain_front(n);
    n
}
