//! Microphone capture with cpal.
//!
//! The device is opened in its own default input configuration (native rate, channel count and
//! sample format); conversion to 16 kHz mono happens on the reading side, in
//! [`Resampler16k`]. The real-time callback only converts samples to `f32` and copies whole
//! frames into a preallocated lock-free ring: no allocation, no locks, no logging. When the
//! ring is full the newest frames are dropped and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use super::device::{self, DeviceInfo, StreamBuilder, build_stream, device_name, host, is_virtual};
use super::ring::{self, Consumer, Producer};
use super::{AudioError, Resampler16k, Samples, Source, take_pending};

/// Seconds of native audio the ring holds before frames are dropped.
const RING_SECONDS: usize = 2;
/// How often a blocked [`Microphone::read`] checks for new audio.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long without any audio before capture counts as failed.
const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Native samples moved from the ring per conversion step.
const DRAIN_CHUNK: usize = 8_192;

/// Names of the input devices the audio system lists, each usable as `[audio] device`.
/// Empty when there is no audio system or no input device.
pub fn list_input_devices() -> Vec<String> {
    input_devices().into_iter().map(|d| d.name).collect()
}

/// The input devices the audio system lists, with descriptions.
pub fn input_devices() -> Vec<DeviceInfo> {
    match host() {
        Ok(host) => device::list(&host, true).into_iter().map(|(_, info)| info).collect(),
        Err(_) => Vec::new(),
    }
}

/// State shared with the callbacks. Only atomics, so the callbacks never lock.
struct Shared {
    /// Callbacks that could not store all their frames because the ring was full.
    overruns: AtomicU64,
    /// Native frames dropped by those overruns.
    dropped_frames: AtomicU64,
    /// Buffer under/overruns reported by the audio system itself.
    xruns: AtomicU64,
    /// Set by the error callback on a fatal stream error; details go through the channel.
    failed: AtomicBool,
}

/// A microphone, capturing continuously from the moment it is opened until it is dropped.
///
/// Implements [`Source`]: [`read`](Source::read) blocks until a full block of 16 kHz mono audio
/// is available. Read often enough (the ring holds about two seconds of audio); if reading
/// falls behind, the newest audio is dropped and counted in [`overruns`](Self::overruns).
///
/// Captured audio is wiped from the ring as it is read, and the whole ring is wiped when the
/// microphone is dropped.
pub struct Microphone {
    /// `Some` until drop; dropped before the ring is wiped.
    stream: Option<cpal::Stream>,
    consumer: Consumer,
    shared: Arc<Shared>,
    errors: mpsc::Receiver<String>,
    name: String,
    sample_rate: u32,
    channels: u16,
    sample_format: SampleFormat,
    resampler: Resampler16k,
    scratch: Samples,
    pending: Samples,
    last_audio: Instant,
    stall_timeout: Duration,
}

impl Microphone {
    /// Opens the input device called `name` (as listed by [`list_input_devices`]; a device's
    /// description also matches), or the system's default input device for `"default"` or `""`,
    /// and starts capturing.
    ///
    /// Fails with a message listing the available input devices and how to choose one when
    /// there is no microphone, no device by that name, or the device cannot be opened.
    pub fn open(name: &str) -> Result<Self, AudioError> {
        let host = host().map_err(|e| AudioError::NoInputDevice { available: vec![], detail: e.to_string() })?;
        let devices = device::list(&host, true);
        let available: Vec<String> = devices.iter().map(|(_, i)| i.name.clone()).collect();
        let wants_default = name.is_empty() || name == "default";

        let device = if wants_default {
            host.default_input_device().ok_or_else(|| AudioError::NoInputDevice {
                available: available.clone(),
                detail: "the audio system reports no default input device".to_owned(),
            })?
        } else {
            device::find(&devices, name)
                .map(|(device, _)| device.clone())
                .ok_or_else(|| AudioError::UnknownDevice { name: name.to_owned(), available: available.clone() })?
        };
        let label = if wants_default { "default".to_owned() } else { device_name(&device) };

        let open_error = |detail: String| {
            if wants_default && available.iter().all(|n| is_virtual(n)) {
                AudioError::NoInputDevice {
                    available: available.clone(),
                    detail: format!("opening the default input device failed: {detail}"),
                }
            } else {
                AudioError::DeviceOpen { device: label.clone(), detail, available: available.clone() }
            }
        };

        let supported = device.default_input_config().map_err(|e| open_error(e.to_string()))?;
        let sample_rate = supported.sample_rate();
        let channels = supported.channels();
        let sample_format = supported.sample_format();
        let resampler = Resampler16k::new(sample_rate, channels)
            .map_err(|e| open_error(format!("its default configuration is unusable: {e}")))?;

        let capacity = (sample_rate as usize).saturating_mul(usize::from(channels)).saturating_mul(RING_SECONDS);
        let (producer, consumer) = ring::ring(capacity);
        let shared = Arc::new(Shared {
            overruns: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            xruns: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        });
        let (error_tx, errors) = mpsc::sync_channel(16);

        let config = supported.config();
        let capture = Capture { device: &device, config, producer, shared: &shared, errors: error_tx };
        let stream = build_stream(sample_format, capture)
            .ok_or_else(|| open_error(format!("its sample format {sample_format} is not supported")))?
            .map_err(|e| open_error(e.to_string()))?;
        stream.play().map_err(|e| open_error(e.to_string()))?;

        tracing::info!(
            device = %label,
            rate = sample_rate,
            channels,
            format = %sample_format,
            "microphone open"
        );
        Ok(Self {
            stream: Some(stream),
            consumer,
            shared,
            errors,
            name: label,
            sample_rate,
            channels,
            sample_format,
            resampler,
            scratch: Samples::with_capacity(DRAIN_CHUNK),
            pending: Samples::new(),
            last_audio: Instant::now(),
            stall_timeout: DEFAULT_STALL_TIMEOUT,
        })
    }

    /// The device name ("default" when the default device was opened).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The device's native sample rate in Hz.
    pub fn native_sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The device's native channel count.
    pub fn native_channels(&self) -> u16 {
        self.channels
    }

    /// The device's native sample format.
    pub fn native_sample_format(&self) -> SampleFormat {
        self.sample_format
    }

    /// How many times audio was dropped because it was not read fast enough.
    pub fn overruns(&self) -> u64 {
        self.shared.overruns.load(Ordering::Relaxed)
    }

    /// Native frames dropped by [`overruns`](Self::overruns).
    pub fn dropped_frames(&self) -> u64 {
        self.shared.dropped_frames.load(Ordering::Relaxed)
    }

    /// Buffer under/overruns reported by the audio system (audio lost before reaching Hearth).
    pub fn xruns(&self) -> u64 {
        self.shared.xruns.load(Ordering::Relaxed)
    }

    /// How long [`read`](Source::read) waits for audio before reporting the device as stalled
    /// (default 5 s).
    pub fn set_stall_timeout(&mut self, timeout: Duration) {
        self.stall_timeout = timeout;
    }

    /// The fatal stream error, if one was reported.
    fn check_failed(&self) -> Result<(), AudioError> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        let detail = self.errors.try_iter().collect::<Vec<_>>().join("; ");
        Err(AudioError::Stream {
            device: self.name.clone(),
            detail: if detail.is_empty() { "the audio system reported an error".to_owned() } else { detail },
        })
    }

    /// Moves everything captured so far through the resampler into `pending`.
    fn drain(&mut self) -> Result<(), AudioError> {
        loop {
            self.scratch.clear();
            let n = self.consumer.pop_into(&mut self.scratch, DRAIN_CHUNK);
            if n == 0 {
                return Ok(());
            }
            self.last_audio = Instant::now();
            let converted = self.resampler.process(&self.scratch, &mut self.pending);
            self.scratch.clear();
            converted?;
        }
    }
}

impl Source for Microphone {
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
        loop {
            self.drain()?;
            if self.pending.len() >= block.len() {
                return Ok(take_pending(&mut self.pending, block));
            }
            self.check_failed()?;
            if self.last_audio.elapsed() > self.stall_timeout {
                return Err(AudioError::Stream {
                    device: self.name.clone(),
                    detail: format!(
                        "no audio arrived for {} s; was the microphone unplugged?",
                        self.stall_timeout.as_secs_f32()
                    ),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn describe(&self) -> String {
        format!("microphone \"{}\"", self.name)
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        // Stop capturing (this drops the callback and its producer), then wipe the ring.
        drop(self.stream.take());
        self.consumer.wipe();
    }
}

/// A capture stream to build: the callback fills `producer`.
struct Capture<'a> {
    device: &'a cpal::Device,
    config: cpal::StreamConfig,
    producer: Producer,
    shared: &'a Arc<Shared>,
    errors: mpsc::SyncSender<String>,
}

impl StreamBuilder for Capture<'_> {
    fn build<T>(self) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
        f32: FromSample<T>,
    {
        capture::<T>(self.device, self.config, self.producer, self.shared, self.errors)
    }
}

fn capture<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: Producer,
    shared: &Arc<Shared>,
    errors: mpsc::SyncSender<String>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels).max(1);
    let data_shared = Arc::clone(shared);
    let error_shared = Arc::clone(shared);
    device.build_input_stream::<T, _, _>(
        config,
        // Real-time thread: copy whole frames into the ring, count what does not fit. Nothing
        // else: no allocation, no locks, no logging.
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            let frames = data.len() / channels;
            let fit = frames.min(producer.free() / channels);
            producer.push(data[..fit * channels].iter().map(|&s| <f32 as FromSample<T>>::from_sample_(s)));
            if fit < frames {
                data_shared.overruns.fetch_add(1, Ordering::Relaxed);
                data_shared.dropped_frames.fetch_add((frames - fit) as u64, Ordering::Relaxed);
            }
        },
        move |err: cpal::Error| match err.kind() {
            cpal::ErrorKind::Xrun => {
                error_shared.xruns.fetch_add(1, Ordering::Relaxed);
            }
            // The stream followed a new default device and keeps running.
            cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
            _ => {
                let _ = errors.try_send(err.to_string());
                error_shared.failed.store(true, Ordering::Release);
            }
        },
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Works with or without a sound card: either the default microphone opens, or the error
    /// explains what to do.
    #[test]
    fn default_device_opens_or_explains() {
        match Microphone::open("default") {
            Ok(mic) => {
                assert!(mic.native_sample_rate() > 0);
                assert!(mic.native_channels() > 0);
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(matches!(e, AudioError::NoInputDevice { .. } | AudioError::DeviceOpen { .. }), "{msg}");
                assert!(msg.contains("Available input devices"), "{msg}");
                assert!(msg.contains("[audio] device = "), "{msg}");
                assert!(msg.contains("--input FILE.wav"), "{msg}");
            }
        }
    }

    /// End to end through the callback, the ring and the resampler, with ALSA's `null` device
    /// (silence, delivered as fast as it is taken) where it exists.
    #[test]
    fn null_device_captures_silence() {
        let devices = list_input_devices();
        assert!(
            devices.iter().any(|n| n == "null"),
            "ALSA's `null` input device is missing (devices: {devices:?}): apt-get install libasound2 (scripts/test installs it)"
        );
        let mut mic = Microphone::open("null").unwrap();
        assert_eq!(mic.name(), "null");
        assert_eq!(mic.describe(), "microphone \"null\"");
        let mut block = Samples::zeros(super::super::BLOCK_SAMPLES);
        for _ in 0..3 {
            block.iter_mut().for_each(|s| *s = 1.0);
            assert_eq!(mic.read(&mut block).unwrap(), block.len());
            assert!(block.iter().all(|&s| s == 0.0));
        }
    }

    #[test]
    fn sources_can_move_to_another_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Microphone>();
        assert_send::<super::super::WavSource>();
        assert_send::<super::super::RawS16leSource<std::io::Stdin>>();
        assert_send::<Resampler16k>();
        assert_send::<Samples>();
    }

    #[test]
    fn unknown_device_lists_alternatives() {
        let err = Microphone::open("no-such-microphone-xyz").err().unwrap();
        let msg = err.to_string();
        assert!(matches!(err, AudioError::UnknownDevice { .. }), "{msg}");
        assert!(msg.contains("\"no-such-microphone-xyz\""), "{msg}");
        assert!(msg.contains("Available input devices"), "{msg}");
        assert!(msg.contains("[audio] device = "), "{msg}");
    }
}
