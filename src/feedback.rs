//! The speaker: a chime when the wake word is heard, another when a command is done, a lower
//! two-tone on errors, and spoken answers ([`Feedback::say`], audio made by [`crate::voice`]).
//!
//! Tones are synthesised in memory (short sine notes with a soft overtone, smooth attack and a
//! fade to exact silence) at the output device's own sample rate and played through cpal in
//! its native sample format and channel count. [`Feedback::play`] and [`Feedback::say`] only
//! put the sound in a one-place slot (a newer sound replaces one not yet started, and cuts one
//! playing short) and wake a player thread, so callers (the DSP or pipeline thread) never wait
//! for audio I/O. Speech is resampled to the device's rate by linear interpolation (espeak-ng's
//! 22 050 Hz has nothing above 11 kHz worth keeping), and wiped once played. The player thread opens an output stream for each tone and closes it when
//! the tone has been heard, so the speaker is free between tones and an idle satellite does
//! not keep an audio stream running. The cpal callback only copies samples from a buffer made
//! beforehand and updates atomics: no allocation, no locks, no logging.
//!
//! Nothing here ever stops the assistant: with feedback disabled, or without a usable output
//! device (a satellite without a speaker is normal), [`Feedback`] stays silent after one log
//! line naming the device and the fix. `hearth doctor` uses [`check_output`] to test the
//! speaker on demand.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::audio::{StreamBuilder, build_stream, device, device_list, host, is_virtual, trim_detail};
use crate::config::FeedbackSettings;
use crate::voice::Speech;

/// Peak level of every tone (about -9 dBFS): clearly audible, never harsh.
const PEAK: f32 = 0.35;
/// Attack of each note (raised cosine from exact zero).
const ATTACK_SECS: f32 = 0.006;
/// Release at the end of each note (raised cosine to exact zero).
const RELEASE_SECS: f32 = 0.025;
/// Level of the second harmonic relative to the fundamental (warmth without harshness).
const OVERTONE: f32 = 0.18;
/// How long `open` waits for the player thread to find and probe the device.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest output latency waited for after a tone was written, before closing the stream.
const MAX_DRAIN: Duration = Duration::from_millis(500);
/// Extra time after the reported latency before the stream is closed.
const DRAIN_MARGIN: Duration = Duration::from_millis(40);
/// Fade used when a playing tone is cut for a new one (avoids a click).
const CUT_FADE_SECS: f32 = 0.005;
/// How long the silence of [`check_output`] plays.
const CHECK_SECS: f32 = 0.05;

/// Which chime to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// The wake word was heard: speak now (two quick rising notes).
    Wake,
    /// The command was understood and carried out (one bright note).
    Done,
    /// Not understood, or the command failed (two lower, falling notes).
    Error,
}

/// One note of a tone: frequency (Hz), start and length (s), relative level.
struct Note {
    freq: f32,
    start: f32,
    len: f32,
    level: f32,
}

impl Tone {
    /// All tones, for tests and previews.
    pub const ALL: [Tone; 3] = [Tone::Wake, Tone::Done, Tone::Error];

    fn notes(self) -> &'static [Note] {
        match self {
            // E5 then A5: a rising fourth, "go ahead".
            Tone::Wake => &[
                Note { freq: 659.26, start: 0.0, len: 0.12, level: 0.8 },
                Note { freq: 880.0, start: 0.08, len: 0.14, level: 1.0 },
            ],
            // C6 alone: short and light.
            Tone::Done => &[Note { freq: 1_046.5, start: 0.0, len: 0.18, level: 1.0 }],
            // A4 then F4: a falling, lower pair, unmistakably "no".
            Tone::Error => &[
                Note { freq: 440.0, start: 0.0, len: 0.13, level: 1.0 },
                Note { freq: 349.23, start: 0.14, len: 0.15, level: 1.0 },
            ],
        }
    }

    /// How long the tone sounds.
    pub fn duration(self) -> Duration {
        let end = self.notes().iter().map(|n| n.start + n.len).fold(0.0f32, f32::max);
        Duration::from_secs_f32(end)
    }
}

/// A sound for the player: one of the tones, or audio at its own rate (speech).
#[derive(Debug, Clone)]
pub enum Sound {
    /// A chime.
    Tone(Tone),
    /// Mono samples in [-1, 1] at `rate`.
    Pcm {
        /// The samples.
        samples: Arc<[f32]>,
        /// Their rate.
        rate: u32,
    },
}

impl Sound {
    /// Speech as a sound (the samples are copied; the [`Speech`] is wiped when dropped).
    pub fn speech(speech: &Speech) -> Sound {
        Sound::Pcm { samples: Arc::from(&speech.samples[..]), rate: speech.rate }
    }

    /// Speech followed by `tail` (or `tail` alone): one sound, so nothing comes between.
    pub fn join(first: &[f32], rate: u32, tail: &[f32]) -> Sound {
        let samples: Vec<f32> = first.iter().chain(tail).copied().collect();
        Sound::Pcm { samples: samples.into(), rate }
    }

    /// How long it sounds.
    pub fn duration(&self) -> Duration {
        match self {
            Sound::Tone(tone) => tone.duration(),
            Sound::Pcm { samples, rate } => Duration::from_secs_f64(samples.len() as f64 / f64::from((*rate).max(1))),
        }
    }
}

/// `samples` at `from` Hz as `to` Hz, by linear interpolation.
pub fn resample_linear(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || samples.is_empty() || from == 0 || to == 0 {
        return samples.to_vec();
    }
    let len = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..len)
        .map(|i| {
            let at = i as f64 * step;
            let j = at as usize;
            let frac = (at - j as f64) as f32;
            let a = samples[j.min(samples.len() - 1)];
            let b = samples[(j + 1).min(samples.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

/// The tone as mono `f32` samples at `sample_rate`: peak 0.35 (about -9 dBFS, well below
/// clipping), the first and last sample exactly zero.
pub fn synthesize(tone: Tone, sample_rate: u32) -> Vec<f32> {
    let rate = sample_rate.max(1) as f32;
    let total = (tone.duration().as_secs_f32() * rate).round() as usize;
    let mut out = vec![0.0f32; total.max(1)];
    for note in tone.notes() {
        let first = (note.start * rate).round() as usize;
        let len = ((note.len * rate).round() as usize).min(out.len().saturating_sub(first));
        let attack = (ATTACK_SECS * rate).max(1.0);
        let release = (RELEASE_SECS * rate).max(1.0);
        // A bell-like exponential decay to about a third over the note.
        let decay = -(3.0f32.ln()) / len.max(1) as f32;
        let w = std::f32::consts::TAU * note.freq / rate;
        for (i, sample) in out[first..first + len].iter_mut().enumerate() {
            let rise = raised_cosine((i as f32 / attack).min(1.0));
            // Counted from the last sample, so the note ends on an exact zero.
            let fall = raised_cosine(((len - 1 - i) as f32 / release).min(1.0));
            let envelope = rise * fall * (decay * i as f32).exp() * note.level;
            let phase = w * i as f32;
            *sample += envelope * (phase.sin() + OVERTONE * (2.0 * phase).sin());
        }
    }
    let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        out.iter_mut().for_each(|v| *v *= PEAK / peak);
    }
    out
}

/// 0 at 0, 1 at 1, smooth at both ends.
fn raised_cosine(x: f32) -> f32 {
    0.5 - 0.5 * (std::f32::consts::PI * x).cos()
}

/// Why the speaker cannot be used. Every message names the device and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// No audio output device exists at all.
    #[error(
        "no speaker found: {}. Available output devices: {}. Connect a speaker and set \
         `[feedback] device = \"…\"` in config.toml to one of them, or set \
         `[feedback] enabled = false` to run without tones",
        trim_detail(detail),
        device_list(available)
    )]
    NoOutputDevice {
        /// What the audio system said.
        detail: String,
        /// Output devices the audio system lists (may be only virtual ones such as `null`).
        available: Vec<String>,
    },

    /// The configured name matches no output device.
    #[error(
        "no audio output device named \"{name}\". Available output devices: {}. Set \
         `[feedback] device = \"…\"` in config.toml to one of them, or set \
         `[feedback] enabled = false` to run without tones",
        device_list(available)
    )]
    UnknownDevice {
        /// The name that was asked for.
        name: String,
        /// Output devices the audio system lists.
        available: Vec<String>,
    },

    /// The device exists (or is the default) but could not be opened for playback.
    #[error(
        "cannot open audio output device \"{device}\": {}. Available output devices: {}. Check \
         that the speaker is connected and not held by another program, set \
         `[feedback] device = \"…\"` in config.toml to a working device, or set \
         `[feedback] enabled = false` to run without tones",
        trim_detail(detail),
        device_list(available)
    )]
    DeviceOpen {
        /// The device that was being opened.
        device: String,
        /// The audio system's explanation.
        detail: String,
        /// Output devices the audio system lists.
        available: Vec<String>,
    },

    /// The stream failed while playing.
    #[error(
        "audio output device \"{device}\" failed while playing: {}; check the speaker's \
         connection, or set `[feedback] enabled = false` to run without tones",
        trim_detail(detail)
    )]
    Stream {
        /// The device that failed.
        device: String,
        /// What happened.
        detail: String,
    },
}

// ---------------------------------------------------------------------------------------------
// Devices

/// Names of the output devices the audio system lists, each usable as `[feedback] device`.
/// Empty when there is no audio system or no output device.
pub fn list_output_devices() -> Vec<String> {
    match host() {
        Ok(host) => device::list(&host, false).into_iter().map(|(_, info)| info.name).collect(),
        Err(_) => Vec::new(),
    }
}

/// An output device found and its default configuration read.
struct Speaker {
    device: cpal::Device,
    /// "default" or the device's name, for messages.
    label: String,
    /// The device's description ("" when the audio system gives none).
    description: String,
    config: cpal::StreamConfig,
    format: SampleFormat,
    /// Output devices listed, for messages.
    available: Vec<String>,
    /// Whether "default" was asked for.
    wants_default: bool,
}

impl Speaker {
    /// Finds the output device called `name` (a listed name or a description), or the
    /// default one for `"default"` or `""`, and reads its default configuration.
    fn find(name: &str) -> Result<Self, FeedbackError> {
        let host = host().map_err(|e| FeedbackError::NoOutputDevice { available: vec![], detail: e.to_string() })?;
        let devices = device::list(&host, false);
        let available: Vec<String> = devices.iter().map(|(_, info)| info.name.clone()).collect();
        let wants_default = name.is_empty() || name == "default";
        let (device, label, description) = if wants_default {
            let device = host.default_output_device().ok_or_else(|| FeedbackError::NoOutputDevice {
                available: available.clone(),
                detail: "the audio system reports no default output device".to_owned(),
            })?;
            let description = device.description().map(|d| d.name().to_owned()).unwrap_or_default();
            (device, "default".to_owned(), description)
        } else {
            device::find(&devices, name)
                .map(|(device, info)| (device.clone(), info.name.clone(), info.description.clone()))
                .ok_or_else(|| FeedbackError::UnknownDevice { name: name.to_owned(), available: available.clone() })?
        };
        let mut speaker = Self {
            device,
            label,
            description,
            config: cpal::StreamConfig { channels: 1, sample_rate: 48_000, buffer_size: cpal::BufferSize::Default },
            format: SampleFormat::F32,
            available,
            wants_default,
        };
        let supported = speaker.device.default_output_config().map_err(|e| speaker.open_error(e.to_string()))?;
        speaker.config = supported.config();
        speaker.format = supported.sample_format();
        Ok(speaker)
    }

    /// The error for a device that exists but does not open.
    fn open_error(&self, detail: String) -> FeedbackError {
        if self.wants_default && self.available.iter().all(|n| is_virtual(n)) {
            FeedbackError::NoOutputDevice {
                available: self.available.clone(),
                detail: format!("opening the default output device failed: {detail}"),
            }
        } else {
            FeedbackError::DeviceOpen { device: self.label.clone(), detail, available: self.available.clone() }
        }
    }

    /// "name" (description), rate, channels, format.
    fn describe(&self) -> String {
        let mut text = format!("\"{}\"", self.label);
        if !self.description.is_empty() && self.description != self.label {
            text.push_str(&format!(" ({})", self.description));
        }
        text.push_str(&format!(
            ", {} Hz, {} channel{}, {}",
            self.config.sample_rate,
            self.config.channels,
            if self.config.channels == 1 { "" } else { "s" },
            self.format
        ));
        text
    }

    /// Builds (does not start) a stream that plays `sound` once, then silence.
    fn stream(&self, sound: Arc<[f32]>, status: Arc<PlaybackStatus>) -> Result<cpal::Stream, FeedbackError> {
        let playback = Playback { device: &self.device, config: self.config, sound, status };
        let result = build_stream(self.format, playback)
            .ok_or_else(|| self.open_error(format!("its sample format {} is not supported", self.format)))?;
        result.map_err(|e| self.open_error(e.to_string()))
    }
}

/// What the callback and the player thread share about one playback. Only atomics.
#[derive(Default)]
struct PlaybackStatus {
    /// Set by the player: fade out now and stop.
    cut: AtomicBool,
    /// Set by the callback once the whole sound (or its cut fade) has been written.
    written: AtomicBool,
    /// Output latency the callback last saw, in microseconds.
    latency_us: AtomicU64,
    /// Set by the error callback on a fatal stream error.
    failed: AtomicBool,
}

/// A playback stream to build: the callback plays `sound` once.
struct Playback<'a> {
    device: &'a cpal::Device,
    config: cpal::StreamConfig,
    sound: Arc<[f32]>,
    status: Arc<PlaybackStatus>,
}

impl StreamBuilder for Playback<'_> {
    fn build<T>(self) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
        f32: FromSample<T>,
    {
        play::<T>(self.device, self.config, self.sound, self.status)
    }
}

fn play<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    sound: Arc<[f32]>,
    status: Arc<PlaybackStatus>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let channels = usize::from(config.channels).max(1);
    let fade_len = ((CUT_FADE_SECS * config.sample_rate as f32) as usize).max(1);
    let error_status = Arc::clone(&status);
    let mut pos = 0usize;
    let mut fade_left: Option<usize> = None;
    device.build_output_stream::<T, _, _>(
        config,
        // Real-time thread: copy from the prepared buffer and touch atomics. Nothing else: no
        // allocation, no locks, no logging.
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            let stamp = info.timestamp();
            if let Some(latency) = stamp.playback.checked_duration_since(stamp.callback) {
                status.latency_us.store(latency.as_micros() as u64, Ordering::Relaxed);
            }
            if fade_left.is_none() && status.cut.load(Ordering::Relaxed) {
                fade_left = Some(fade_len);
            }
            for frame in data.chunks_mut(channels) {
                let mut value = sound.get(pos).copied().unwrap_or(0.0);
                if let Some(left) = fade_left.as_mut() {
                    value *= *left as f32 / fade_len as f32;
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        pos = sound.len();
                    }
                }
                pos = pos.saturating_add(1).min(sound.len());
                let sample = T::from_sample_(value);
                frame.iter_mut().for_each(|s| *s = sample);
            }
            if pos >= sound.len() {
                status.written.store(true, Ordering::Release);
            }
        },
        move |err: cpal::Error| match err.kind() {
            cpal::ErrorKind::Xrun | cpal::ErrorKind::DeviceChanged | cpal::ErrorKind::RealtimeDenied => {}
            _ => error_status.failed.store(true, Ordering::Release),
        },
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// The player

/// State shared between [`Feedback`] handles and the player thread. Atomics, and a slot whose
/// lock is only ever held to put a sound in or take it out (never across audio I/O).
struct Shared {
    /// The sound asked for and not yet started. A newer request replaces an older one that has
    /// not started yet.
    request: Mutex<Option<Sound>>,
    /// A sound is being played (or is in the slot).
    sounding: AtomicBool,
    /// When the last sound ended, in microseconds since `epoch`.
    ended_us: AtomicU64,
    /// The zero of `ended_us`.
    epoch: Instant,
    /// Tones reach an output device.
    audible: AtomicBool,
    /// The owner is gone: the player thread ends.
    stop: AtomicBool,
}

/// The player thread and how to reach it.
struct Player {
    shared: Arc<Shared>,
    /// To wake the thread (`unpark` never blocks).
    thread: thread::Thread,
    /// Joined on drop.
    handle: Option<JoinHandle<()>>,
}

/// Feedback tones for the pipeline: cheap to call from any thread, never blocks, never fails.
///
/// `Send + Sync`: share it by reference or in an `Arc`. Dropping it stops the player thread
/// (after the tone being played, if any).
pub struct Feedback {
    /// `None` when disabled or when no output device could be used.
    player: Option<Player>,
}

impl Feedback {
    /// Opens the configured speaker. Never fails: disabled, or no usable output device (this
    /// is normal for a satellite without a speaker) → silent, with one log line (info when
    /// disabled, warn otherwise) naming the device and the fix.
    pub fn open(settings: &FeedbackSettings) -> Feedback {
        if !settings.enabled {
            tracing::info!(
                device = %settings.device,
                "feedback tones are off (`[feedback] enabled = false`); set it to true to hear a chime \
                 when the wake word is heard"
            );
            return Feedback { player: None };
        }
        let shared = Arc::new(Shared {
            request: Mutex::new(None),
            sounding: AtomicBool::new(false),
            ended_us: AtomicU64::new(0),
            epoch: Instant::now(),
            audible: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let device = settings.device.clone();
        let thread_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name("hearth-feedback".to_owned())
            .spawn(move || player_thread(&device, &thread_shared, ready_tx));
        let handle = match spawned {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(device = %settings.device, "feedback tones stay silent: cannot start the player thread: {e}");
                return Feedback { player: None };
            }
        };
        match ready_rx.recv_timeout(OPEN_TIMEOUT) {
            Ok(Ok(description)) => {
                tracing::info!(speaker = %description, "speaker open for feedback tones");
            }
            Ok(Err(error)) => {
                tracing::warn!("feedback tones stay silent: {error}");
                // The thread has ended; nothing to keep.
                let _ = handle.join();
                return Feedback { player: None };
            }
            Err(_) => {
                tracing::warn!(
                    device = %settings.device,
                    "the speaker for feedback tones did not open within {} s; tones stay silent until \
                     it does. Check the device, or set `[feedback] enabled = false`",
                    OPEN_TIMEOUT.as_secs()
                );
            }
        }
        let thread = handle.thread().clone();
        Feedback { player: Some(Player { shared, thread, handle: Some(handle) }) }
    }

    /// Queues `tone` for the player thread and returns at once (never waits for audio I/O).
    /// A tone already playing is cut short (faded out) for the new one; of several tones asked
    /// for before the player gets to them, the last one plays.
    pub fn play(&self, tone: Tone) {
        self.queue(Sound::Tone(tone));
    }

    /// Queues spoken audio, like [`Feedback::play`] does a tone.
    pub fn say(&self, speech: &Speech) {
        if !speech.samples.is_empty() {
            self.queue(Sound::speech(speech));
        }
    }

    /// Queues any sound, like [`Feedback::play`] does a tone.
    pub fn queue(&self, sound: Sound) {
        if let Some(player) = &self.player {
            player.shared.sounding.store(true, Ordering::Release);
            *player.shared.request.lock().unwrap_or_else(PoisonError::into_inner) = Some(sound);
            player.thread.unpark();
        }
    }

    /// True while a sound is queued or playing, and for `echo` after the last one ended (the
    /// room's echo and the output's latency): the microphone may hear the speaker.
    pub fn sounding(&self, echo: Duration) -> bool {
        let Some(player) = &self.player else { return false };
        if player.shared.sounding.load(Ordering::Acquire) {
            return true;
        }
        let ended = Duration::from_micros(player.shared.ended_us.load(Ordering::Acquire));
        player.shared.epoch.elapsed() < ended + echo
    }

    /// Waits until nothing is queued or playing, at most `timeout`; false on timeout.
    pub fn wait_quiet(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while self.sounding(Duration::ZERO) {
            if started.elapsed() > timeout {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// True when tones actually reach an output device.
    pub fn is_audible(&self) -> bool {
        self.player.as_ref().is_some_and(|p| p.shared.audible.load(Ordering::Acquire))
    }
}

impl Drop for Feedback {
    fn drop(&mut self) {
        if let Some(player) = &mut self.player {
            player.shared.stop.store(true, Ordering::Release);
            player.thread.unpark();
            if let Some(handle) = player.handle.take() {
                let _ = handle.join();
            }
        }
    }
}

/// The player thread: finds the device, reports to `open`, then plays what is asked for
/// until told to stop.
fn player_thread(device: &str, shared: &Shared, ready: mpsc::SyncSender<Result<String, FeedbackError>>) {
    let speaker = match Speaker::find(device).and_then(|s| probe(&s).map(|()| s)) {
        Ok(speaker) => speaker,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    let rate = speaker.config.sample_rate;
    let tones: Vec<(Tone, Arc<[f32]>)> = Tone::ALL.into_iter().map(|t| (t, synthesize(t, rate).into())).collect();
    shared.audible.store(true, Ordering::Release);
    let _ = ready.send(Ok(speaker.describe()));
    drop(ready);

    // Logged once per change between working and failing, never per tone.
    let mut failing = false;
    let mut next = None;
    while !shared.stop.load(Ordering::Acquire) {
        let Some(sound) = next.take().or_else(|| take_request(shared)) else {
            shared.ended_us.store(shared.epoch.elapsed().as_micros() as u64, Ordering::Release);
            shared.sounding.store(false, Ordering::Release);
            // A request between the store above and parking unparks first: park returns at once.
            if shared.request.lock().unwrap_or_else(PoisonError::into_inner).is_some() {
                shared.sounding.store(true, Ordering::Release);
                continue;
            }
            thread::park();
            continue;
        };
        shared.sounding.store(true, Ordering::Release);
        let length = sound.duration();
        let mut samples: Arc<[f32]> = match sound {
            Sound::Tone(tone) => {
                tones.iter().find(|(t, _)| *t == tone).map(|(_, s)| Arc::clone(s)).unwrap_or_else(|| Arc::from([]))
            }
            Sound::Pcm { mut samples, rate: from } => {
                let resampled = resample_linear(&samples, from, rate);
                // The copy at the voice's own rate is not needed any more: wiped too.
                if let Some(own) = Arc::get_mut(&mut samples) {
                    own.fill(0.0);
                }
                resampled.into()
            }
        };
        let (result, interrupted_by) = play_once(&speaker, Arc::clone(&samples), length, shared);
        // Spoken audio is wiped once heard (tones are shared and stay).
        if let Some(own) = Arc::get_mut(&mut samples) {
            own.fill(0.0);
        }
        next = interrupted_by;
        match result {
            Ok(()) if failing => {
                failing = false;
                shared.audible.store(true, Ordering::Release);
                tracing::info!(speaker = %speaker.describe(), "speaker works again; feedback tones are back");
            }
            Ok(()) => {}
            Err(error) if !failing => {
                failing = true;
                shared.audible.store(false, Ordering::Release);
                tracing::warn!("feedback tone not played: {error}");
            }
            Err(_) => {}
        }
    }
}

/// The sound waiting in the slot, if any.
fn take_request(shared: &Shared) -> Option<Sound> {
    shared.request.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Opens a stream on the speaker without playing anything: proves the device can be opened.
fn probe(speaker: &Speaker) -> Result<(), FeedbackError> {
    speaker.stream(Arc::from([]), Arc::new(PlaybackStatus::default())).map(drop)
}

/// Plays `sound` once on a fresh stream and closes it when heard. Returns early (after a short
/// fade) when another sound is asked for, handing that sound back.
fn play_once(
    speaker: &Speaker,
    sound: Arc<[f32]>,
    length: Duration,
    shared: &Shared,
) -> (Result<(), FeedbackError>, Option<Sound>) {
    let status = Arc::new(PlaybackStatus::default());
    let stream = match speaker.stream(sound, Arc::clone(&status)) {
        Ok(stream) => stream,
        Err(error) => return (Err(error), None),
    };
    if let Err(e) = stream.play() {
        return (Err(speaker.open_error(e.to_string())), None);
    }
    let started = Instant::now();
    // A device that never asks for data (stalled) must not hold the player forever.
    let deadline = length + MAX_DRAIN + Duration::from_secs(1);
    let mut interrupted_by = None;
    while !status.written.load(Ordering::Acquire) && started.elapsed() < deadline {
        if status.failed.load(Ordering::Acquire) {
            return (
                Err(FeedbackError::Stream {
                    device: speaker.label.clone(),
                    detail: "the audio system reported an error".to_owned(),
                }),
                None,
            );
        }
        if shared.stop.load(Ordering::Acquire) {
            status.cut.store(true, Ordering::Release);
        } else if interrupted_by.is_none() {
            interrupted_by = take_request(shared);
            if interrupted_by.is_some() {
                status.cut.store(true, Ordering::Release);
            }
        }
        thread::park_timeout(Duration::from_millis(5));
    }
    if !status.written.load(Ordering::Acquire) && interrupted_by.is_none() && !shared.stop.load(Ordering::Acquire) {
        return (
            Err(FeedbackError::Stream {
                device: speaker.label.clone(),
                detail: format!("the device took no audio within {} s", deadline.as_secs_f32()),
            }),
            None,
        );
    }
    if interrupted_by.is_none() {
        // Let the device play what is buffered before the stream is closed.
        let latency = Duration::from_micros(status.latency_us.load(Ordering::Relaxed)).min(MAX_DRAIN);
        let until = Instant::now() + latency + DRAIN_MARGIN;
        while Instant::now() < until && !shared.stop.load(Ordering::Acquire) {
            thread::park_timeout(until.saturating_duration_since(Instant::now()));
        }
    }
    drop(stream);
    (Ok(()), interrupted_by)
}

/// For `hearth doctor`: opens the output device `device` (`"default"` or a listed name) and
/// plays 50 ms of silence. `Ok` with a description of the device (name, rate, channels,
/// format), or an error naming the device and the fix.
pub fn check_output(device: &str) -> Result<String, FeedbackError> {
    let speaker = Speaker::find(device)?;
    let silence: Arc<[f32]> = vec![0.0f32; (CHECK_SECS * speaker.config.sample_rate as f32) as usize].into();
    let status = Arc::new(PlaybackStatus::default());
    let stream = speaker.stream(silence, Arc::clone(&status))?;
    stream.play().map_err(|e| speaker.open_error(e.to_string()))?;
    let started = Instant::now();
    while !status.written.load(Ordering::Acquire) && started.elapsed() < Duration::from_secs(2) {
        thread::sleep(Duration::from_millis(5));
    }
    if status.failed.load(Ordering::Acquire) {
        return Err(FeedbackError::Stream {
            device: speaker.label.clone(),
            detail: "the audio system reported an error".to_owned(),
        });
    }
    if !status.written.load(Ordering::Acquire) {
        return Err(FeedbackError::Stream {
            device: speaker.label.clone(),
            detail: "the device took no audio within 2 s".to_owned(),
        });
    }
    drop(stream);
    Ok(speaker.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tones_have_their_length_and_fade_from_and_to_silence() {
        for rate in [16_000, 22_050, 44_100, 48_000, 96_000] {
            for tone in Tone::ALL {
                let s = synthesize(tone, rate);
                let secs = s.len() as f32 / rate as f32;
                assert!((secs - tone.duration().as_secs_f32()).abs() < 0.001, "{tone:?} at {rate}: {secs} s");
                assert!((0.15..=0.3).contains(&secs), "{tone:?} is {secs} s long");
                assert_eq!(s[0], 0.0, "{tone:?} at {rate} starts with a click");
                assert_eq!(*s.last().unwrap(), 0.0, "{tone:?} at {rate} ends with a click");
                // The first and last millisecond stay quiet: fades, not steps.
                let ms = rate as usize / 1_000;
                assert!(s[..ms].iter().all(|v| v.abs() < 0.05), "{tone:?} at {rate}: abrupt start");
                assert!(s[s.len() - ms..].iter().all(|v| v.abs() < 0.05), "{tone:?} at {rate}: abrupt end");
            }
        }
    }

    #[test]
    fn tones_do_not_clip() {
        for tone in Tone::ALL {
            let s = synthesize(tone, 48_000);
            let peak = s.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!((peak - PEAK).abs() < 1e-4, "{tone:?} peaks at {peak}");
            assert!(s.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
        }
    }

    /// Strongest frequency of `s` among `candidates` (Goertzel).
    fn dominant(s: &[f32], rate: u32, candidates: &[f32]) -> f32 {
        let power = |f: f32| {
            let w = std::f32::consts::TAU * f / rate as f32;
            let (mut a, mut b) = (0.0f32, 0.0f32);
            for &x in s {
                let c = x + 2.0 * w.cos() * a - b;
                b = a;
                a = c;
            }
            a * a + b * b - 2.0 * w.cos() * a * b
        };
        candidates.iter().copied().max_by(|x, y| power(*x).total_cmp(&power(*y))).unwrap()
    }

    #[test]
    fn wake_rises_and_error_falls_lower() {
        let rate = 48_000;
        let notes = [349.23, 440.0, 659.26, 880.0, 1_046.5];
        let halves = |tone: Tone| {
            let s = synthesize(tone, rate);
            let (a, b) = s.split_at(s.len() / 2);
            (dominant(a, rate, &notes), dominant(b, rate, &notes))
        };
        let (wake_a, wake_b) = halves(Tone::Wake);
        assert!(wake_b > wake_a, "wake should rise: {wake_a} → {wake_b}");
        let (error_a, error_b) = halves(Tone::Error);
        assert!(error_b < error_a, "error should fall: {error_a} → {error_b}");
        assert!(error_a < wake_a, "error should be lower than wake");
        assert_eq!(dominant(&synthesize(Tone::Done, rate), rate, &notes), 1_046.5);
    }

    #[test]
    fn speech_is_resampled_to_the_device_rate() {
        let ramp: Vec<f32> = (0..220).map(|i| i as f32 / 220.0).collect();
        let up = resample_linear(&ramp, 22_050, 48_000);
        assert_eq!(up.len(), 220 * 48_000 / 22_050);
        assert!(up.windows(2).all(|w| w[1] >= w[0]), "a ramp stays a ramp");
        assert_eq!(resample_linear(&ramp, 16_000, 16_000), ramp);
        assert!(resample_linear(&[], 22_050, 48_000).is_empty());
        let sound = Sound::join(&[0.0; 22_050], 22_050, &[0.0; 11_025]);
        assert_eq!(sound.duration(), Duration::from_millis(1500));
    }

    #[test]
    fn feedback_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Feedback>();
    }

    #[test]
    fn disabled_is_silent() {
        let feedback = Feedback::open(&FeedbackSettings { enabled: false, device: "default".into() });
        assert!(!feedback.is_audible());
        feedback.play(Tone::Wake);
        feedback.play(Tone::Error);
    }

    #[test]
    fn errors_name_the_device_and_the_fix() {
        let unknown = FeedbackError::UnknownDevice { name: "usb-speaker".into(), available: vec!["null".into()] };
        let text = unknown.to_string();
        assert!(text.contains("\"usb-speaker\"") && text.contains("\"null\""), "{text}");
        assert!(text.contains("[feedback] device = ") && text.contains("[feedback] enabled = false"), "{text}");
        let none = FeedbackError::NoOutputDevice { detail: "nothing there.".into(), available: vec![] };
        let text = none.to_string();
        assert!(text.contains("nothing there. Available output devices: none"), "{text}");
        let open = FeedbackError::DeviceOpen { device: "hw:1,0".into(), detail: "busy".into(), available: vec![] };
        assert!(open.to_string().contains("\"hw:1,0\": busy"), "{open}");
    }
}
