//! [`Resampler16k`]: streaming downmix to mono and conversion to 16 kHz.

use rubato::{
    FftFixedInOut, ResampleResult, Resampler as _, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};
use zeroize::Zeroize;

use super::{AudioError, SAMPLE_RATE, Samples};

/// Highest input rate accepted (far above any real microphone or file).
const MAX_INPUT_RATE: u32 = 1_536_000;
/// Highest channel count accepted.
const MAX_CHANNELS: usize = 256;
/// The FFT resampler works on blocks of `rate / gcd(rate, 16000)` input frames; above this block
/// size (odd rates such as 44 101 Hz) the asynchronous sinc resampler is used instead, which keeps
/// latency and memory small for any ratio.
const MAX_FFT_UNIT: usize = 4_000;
/// Input chunk of the sinc resampler, in frames.
const SINC_CHUNK: usize = 1_024;

/// Streaming converter from interleaved audio at any rate and channel count to 16 kHz mono.
///
/// Feed it interleaved `f32` samples in chunks of any size (even splitting a frame between two
/// calls) with [`process`](Self::process); it appends 16 kHz mono output to a [`Samples`].
/// Call [`finish`](Self::finish) at the end of the stream to flush the tail.
///
/// - Channels are averaged into mono before resampling.
/// - Samples are clipped to `[-1, 1]` and NaN becomes silence (`sane`): a float WAV file or a
///   driver can hold anything, and one NaN or infinity in rubato's FFT makes it panic.
/// - 16 kHz input is passed through without touching rubato.
/// - The output is time-aligned with the input: the resampler's filter delay is trimmed from
///   the start, and `finish` pads with silence until exactly
///   `round(input_frames * 16000 / input_rate)` samples have been produced in total.
/// - Internal buffers are wiped after every chunk and when the resampler is dropped.
///
/// After `finish` the resampler is back in its initial state and can take a new stream.
pub struct Resampler16k {
    input_rate: u32,
    channels: usize,
    /// Samples of an incomplete frame carried over to the next call (fewer than `channels`).
    partial: Vec<f32>,
    /// Complete input frames received since the stream started.
    frames_in: u64,
    /// Output samples produced since the stream started.
    frames_out: u64,
    /// `None` when the input already is 16 kHz.
    engine: Option<Engine>,
}

/// The rubato resampler in use.
enum Rubato {
    /// Synchronous FFT resampler, for ratios with small terms (all common rates).
    Fft(FftFixedInOut<f32>),
    /// Asynchronous sinc resampler, for odd rates.
    Sinc(SincFixedIn<f32>),
}

impl Rubato {
    fn process_into_buffer(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) -> ResampleResult<(usize, usize)> {
        match self {
            Self::Fft(r) => r.process_into_buffer(input, output, None),
            Self::Sinc(r) => r.process_into_buffer(input, output, None),
        }
    }

    fn input_frames_next(&self) -> usize {
        match self {
            Self::Fft(r) => r.input_frames_next(),
            Self::Sinc(r) => r.input_frames_next(),
        }
    }

    fn input_frames_max(&self) -> usize {
        match self {
            Self::Fft(r) => r.input_frames_max(),
            Self::Sinc(r) => r.input_frames_max(),
        }
    }

    fn output_frames_max(&self) -> usize {
        match self {
            Self::Fft(r) => r.output_frames_max(),
            Self::Sinc(r) => r.output_frames_max(),
        }
    }

    fn reset(&mut self) {
        match self {
            Self::Fft(r) => r.reset(),
            Self::Sinc(r) => r.reset(),
        }
    }
}

struct Engine {
    rubato: Rubato,
    /// One channel of mono input, filled up to `rubato.input_frames_next()`.
    input: Vec<Vec<f32>>,
    /// One channel of output, `rubato.output_frames_max()` long.
    output: Vec<Vec<f32>>,
    /// The resampler's delay in output samples.
    delay: usize,
    /// Output samples still to drop at the start of the stream.
    skip: usize,
}

impl Resampler16k {
    /// A converter for interleaved input at `input_rate` Hz with `channels` channels.
    pub fn new(input_rate: u32, channels: u16) -> Result<Self, AudioError> {
        let channels = usize::from(channels);
        let what = "the audio input".to_owned();
        if input_rate == 0 || input_rate > MAX_INPUT_RATE {
            return Err(AudioError::InvalidFormat {
                what,
                detail: format!("sample rate {input_rate} Hz (expected 1 to {MAX_INPUT_RATE} Hz)"),
            });
        }
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(AudioError::InvalidFormat {
                what,
                detail: format!("{channels} channels (expected 1 to {MAX_CHANNELS})"),
            });
        }
        let engine = if input_rate == SAMPLE_RATE { None } else { Some(Engine::new(input_rate)?) };
        Ok(Self { input_rate, channels, partial: Vec::with_capacity(channels), frames_in: 0, frames_out: 0, engine })
    }

    /// The input sample rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// The number of interleaved input channels.
    pub fn channels(&self) -> u16 {
        // Bounded by MAX_CHANNELS in `new`.
        self.channels as u16
    }

    /// True when the input is already 16 kHz and only downmixing happens.
    pub fn is_passthrough(&self) -> bool {
        self.engine.is_none()
    }

    /// The resampler's filter delay in 16 kHz samples, trimmed from the start of the output
    /// (0 for passthrough and for the sinc resampler used with odd rates, which compensates
    /// internally). Output lags input by at least this much until [`finish`](Self::finish).
    pub fn delay(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.delay)
    }

    /// Output samples the input received so far corresponds to, once flushed.
    fn expected_out(&self) -> u64 {
        // Rounded to nearest; u128 so that no realistic stream length can overflow.
        let num = u128::from(self.frames_in) * u128::from(SAMPLE_RATE);
        let rate = u128::from(self.input_rate);
        ((num + rate / 2) / rate) as u64
    }

    /// Converts interleaved input samples and appends the 16 kHz mono result to `out`.
    ///
    /// `interleaved` may have any length; an incomplete trailing frame is kept for the next call.
    pub fn process(&mut self, interleaved: &[f32], out: &mut Samples) -> Result<(), AudioError> {
        let channels = self.channels;
        let mut data = interleaved;

        // Complete a frame split across calls.
        if !self.partial.is_empty() {
            let take = (channels - self.partial.len()).min(data.len());
            self.partial.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.partial.len() < channels {
                return Ok(());
            }
            let mono = self.partial.iter().sum::<f32>() / channels as f32;
            self.partial.zeroize();
            self.push_mono(mono, out)?;
        }

        let whole = data.len() / channels * channels;
        let (frames, rest) = data.split_at(whole);
        if channels == 1 {
            if self.engine.is_none() {
                self.frames_in += frames.len() as u64;
                self.frames_out += frames.len() as u64;
                out.reserve(frames.len());
                for &s in frames {
                    out.push(sane(s));
                }
            } else {
                for &s in frames {
                    self.push_mono(s, out)?;
                }
            }
        } else {
            let scale = 1.0 / channels as f32;
            for frame in frames.chunks_exact(channels) {
                self.push_mono(frame.iter().sum::<f32>() * scale, out)?;
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    fn push_mono(&mut self, sample: f32, out: &mut Samples) -> Result<(), AudioError> {
        let sample = sane(sample);
        self.frames_in += 1;
        let limit = self.expected_out();
        let Some(engine) = self.engine.as_mut() else {
            self.frames_out += 1;
            out.push(sample);
            return Ok(());
        };
        engine.input[0].push(sample);
        if engine.input[0].len() == engine.rubato.input_frames_next() {
            self.frames_out += engine.run_chunk(out, self.frames_out, limit, self.input_rate)?;
        }
        Ok(())
    }

    /// Ends the stream: flushes the resampler's tail so that, over the whole stream, exactly
    /// `round(input_frames * 16000 / input_rate)` samples were appended. An incomplete final
    /// frame is dropped. Afterwards the resampler is ready for a new stream.
    pub fn finish(&mut self, out: &mut Samples) -> Result<(), AudioError> {
        self.partial.zeroize();
        let expected = self.expected_out();
        if let Some(engine) = self.engine.as_mut() {
            // Each chunk yields at least one output sample once the delay is skipped, and the
            // delay spans a bounded number of chunks, so this terminates; the guard is belt and
            // braces.
            let mut guard = 0;
            while self.frames_out < expected && guard < 1_000 {
                let next = engine.rubato.input_frames_next();
                engine.input[0].resize(next, 0.0);
                self.frames_out += engine.run_chunk(out, self.frames_out, expected, self.input_rate)?;
                guard += 1;
            }
            engine.input[0].zeroize();
            engine.reset();
        }
        self.frames_in = 0;
        self.frames_out = 0;
        Ok(())
    }
}

/// `s` clipped to `[-1, 1]`, NaN as 0 (see [`Resampler16k`]).
fn sane(s: f32) -> f32 {
    if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) }
}

impl Engine {
    fn new(input_rate: u32) -> Result<Self, AudioError> {
        let rate_in = input_rate as usize;
        let rate_out = SAMPLE_RATE as usize;
        let unit = rate_in / gcd(rate_in, rate_out);
        let construction =
            |e: rubato::ResamplerConstructionError| AudioError::Resample { input_rate, detail: e.to_string() };
        let (rubato, delay) = if unit <= MAX_FFT_UNIT {
            // Synchronous FFT resampler: exact ratio, chunks of about 20 ms, a whole number of
            // `unit`s. Its filter delay is floor(chunk / 2) input frames, which equals the
            // reported `output_delay()` (chunk_out / 2) only when the chunk is even; an odd
            // chunk (e.g. 441 frames at 22.05 kHz) would leave the output half an input
            // frame early. So make it even.
            let mut units = (rate_in / 50).div_ceil(unit).max(1);
            if unit % 2 == 1 && units % 2 == 1 {
                units += 1;
            }
            let fft = FftFixedInOut::new(rate_in, rate_out, units * unit, 1).map_err(construction)?;
            let delay = fft.output_delay();
            (Rubato::Fft(fft), delay)
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 128,
                f_cutoff: rubato::calculate_cutoff(128, WindowFunction::BlackmanHarris2),
                oversampling_factor: 256,
                interpolation: SincInterpolationType::Cubic,
                window: WindowFunction::BlackmanHarris2,
            };
            let ratio = f64::from(SAMPLE_RATE) / f64::from(input_rate);
            let sinc = SincFixedIn::new(ratio, 1.0, params, SINC_CHUNK, 1).map_err(construction)?;
            // SincFixedIn starts interpolating half a filter length before the first input
            // frame, which already compensates its filter delay (measured: under one output
            // sample); its `output_delay()` is nominal and must not be trimmed again.
            (Rubato::Sinc(sinc), 0)
        };
        let input = vec![Vec::with_capacity(rubato.input_frames_max())];
        let output = vec![vec![0.0; rubato.output_frames_max()]];
        Ok(Self { rubato, input, output, delay, skip: delay })
    }

    /// Resamples the full input chunk, appends at most `limit - produced` samples (after the
    /// delay trim) to `out`, wipes the buffers and returns the number appended.
    fn run_chunk(&mut self, out: &mut Samples, produced: u64, limit: u64, input_rate: u32) -> Result<u64, AudioError> {
        let result = self.rubato.process_into_buffer(&self.input, &mut self.output);
        self.input[0].zeroize();
        let (_, n) = result.map_err(|e| AudioError::Resample { input_rate, detail: e.to_string() })?;
        let chunk = &self.output[0][..n];
        let skip = self.skip.min(n);
        self.skip -= skip;
        let room = usize::try_from(limit.saturating_sub(produced)).unwrap_or(usize::MAX);
        let keep = &chunk[skip..][..(n - skip).min(room)];
        out.extend_from_slice(keep);
        let appended = keep.len() as u64;
        self.output[0][..n].zeroize();
        Ok(appended)
    }

    /// Back to the start-of-stream state (clears rubato's overlap/history buffers).
    fn reset(&mut self) {
        self.rubato.reset();
        self.skip = self.delay;
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // rubato keeps copies of recent audio in private buffers (FFT scratch, overlap, sinc
        // history). Push one chunk of silence through to overwrite the scratch buffers, then
        // reset, which zeroes the history. Best effort: errors are irrelevant here.
        self.input[0].zeroize();
        let next = self.rubato.input_frames_next();
        self.input[0].resize(next, 0.0);
        let _ = self.rubato.process_into_buffer(&self.input, &mut self.output);
        self.rubato.reset();
        self.output[0].zeroize();
    }
}

impl Drop for Resampler16k {
    fn drop(&mut self) {
        self.partial.zeroize();
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::TAU;

    fn sine(rate: u32, freq: f32, secs: f32, amp: f32) -> Vec<f32> {
        let n = (rate as f32 * secs) as usize;
        (0..n).map(|i| amp * (TAU * freq * i as f32 / rate as f32).sin()).collect()
    }

    fn convert(rate: u32, channels: u16, data: &[f32], chunk: usize) -> Samples {
        let mut r = Resampler16k::new(rate, channels).unwrap();
        let mut out = Samples::new();
        for c in data.chunks(chunk) {
            r.process(c, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        out
    }

    /// Found by `tests/fuzz.rs`: a float WAV holding NaN or infinity made rubato's FFT panic.
    #[test]
    fn nan_and_infinity_are_clipped_not_a_panic() {
        let hostile = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38, -3e38, 0.5];
        for (rate, channels) in [(16_000, 1), (48_000, 1), (44_100, 2), (44_101, 1)] {
            let data: Vec<f32> = hostile.iter().cycle().take(4_800 * usize::from(channels)).copied().collect();
            let out = convert(rate, channels, &data, 777);
            assert!(out.iter().all(|s| s.is_finite() && s.abs() <= 1.5), "{rate} Hz x {channels}");
        }
        let passthrough = convert(16_000, 1, &hostile, 6);
        assert_eq!(&passthrough[..], &[0.0, 1.0, -1.0, 1.0, -1.0, 0.5]);
    }

    #[test]
    fn rejects_nonsense_formats() {
        assert!(Resampler16k::new(0, 1).is_err());
        assert!(Resampler16k::new(16_000, 0).is_err());
    }

    #[test]
    fn passthrough_is_exact() {
        let input = sine(16_000, 440.0, 0.5, 0.5);
        let mut r = Resampler16k::new(16_000, 1).unwrap();
        assert!(r.is_passthrough());
        assert_eq!(r.delay(), 0);
        let mut out = Samples::new();
        r.process(&input, &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert_eq!(&out[..], &input[..]);
    }

    #[test]
    fn output_length_is_exact_for_common_rates() {
        for rate in [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000, 44_101] {
            for frames in [0usize, 1, 7, 1000, 12_345] {
                let data = vec![0.1; frames];
                let out = convert(rate, 1, &data, 333);
                let expected = (frames as u64 * 16_000 + u64::from(rate) / 2) / u64::from(rate);
                assert_eq!(out.len() as u64, expected, "rate {rate}, {frames} frames");
            }
        }
    }

    /// With the common rates (exact FFT resampling) the output must line up sample by sample
    /// with the same sine generated at 16 kHz.
    #[test]
    fn output_is_time_aligned() {
        for rate in [8_000, 11_025, 22_050, 32_000, 44_100, 48_000, 96_000] {
            let input = sine(rate, 440.0, 1.0, 0.5);
            let out = convert(rate, 1, &input, 1000);
            let reference = sine(16_000, 440.0, 1.0, 0.5);
            // Skip the edges, where the filter sees the silence around the signal.
            let worst = (800..out.len() - 800).map(|i| (out[i] - reference[i]).abs()).fold(0.0f32, f32::max);
            assert!(worst < 0.01, "rate {rate}: max deviation {worst}");
        }
    }

    /// A non-periodic check of alignment: a smooth pulse centred at 0.3 s must come out
    /// centred at sample 4800 (a sine cannot tell a whole period of misalignment).
    #[test]
    fn pulse_stays_in_place() {
        for rate in [8_000, 11_025, 22_050, 44_100, 48_000, 96_000, 44_101, 12_345] {
            let centre = 0.3f64;
            let input: Vec<f32> = (0..rate / 2)
                .map(|i| {
                    let t = f64::from(i) / f64::from(rate) - centre;
                    (0.8 * (-(t / 0.000_5).powi(2)).exp()) as f32
                })
                .collect();
            let out = convert(rate, 1, &input, 777);
            let (peak, _) =
                out.iter().enumerate().fold((0, 0.0f32), |best, (i, &v)| if v > best.1 { (i, v) } else { best });
            let (a, b, c) = (out[peak - 1], out[peak], out[peak + 1]);
            let position = peak as f32 + 0.5 * (a - c) / (a - 2.0 * b + c);
            assert!((position - 4_800.0).abs() < 0.75, "rate {rate}: pulse at {position}, expected 4800");
        }
    }

    #[test]
    fn reusable_after_finish() {
        let input = sine(44_100, 440.0, 0.3, 0.5);
        let mut r = Resampler16k::new(44_100, 1).unwrap();
        let mut a = Samples::new();
        r.process(&input, &mut a).unwrap();
        r.finish(&mut a).unwrap();
        let mut b = Samples::new();
        r.process(&input, &mut b).unwrap();
        r.finish(&mut b).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn split_frames_are_reassembled() {
        // Stereo with L = 0.2, R = 0.6: mono must be 0.4 whatever the chunking.
        let data: Vec<f32> = (0..2000).flat_map(|_| [0.2, 0.6]).collect();
        let out = convert(16_000, 2, &data, 3);
        assert_eq!(out.len(), 2000);
        assert!(out.iter().all(|&s| (s - 0.4).abs() < 1e-6));
    }
}
