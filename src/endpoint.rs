//! Endpointing: after the wake word, decides when the spoken command is over (trailing
//! silence), has gone on too long (a backstop), or never began.
//!
//! A pure core: 16 kHz mono blocks in, [`EndpointEvent`]s out. No I/O, no clock (time is
//! counted in samples), no allocation after [`Endpointer::new`], and no audio kept: samples are
//! filtered and summed as they arrive, so only per-band energies are stored.
//!
//! # How it decides
//!
//! - **Frames and bands.** Every 10 ms frame is split by four band-pass filters (200–600 Hz,
//!   0.6–1.5 kHz, 1.5–3.5 kHz, 3.5–7 kHz; each a Butterworth high-pass and low-pass pair) into
//!   band energies. Each band has its own noise floor, and a frame's score is the largest
//!   band energy above its floor, in dB (energies are a 20 ms mean). The per-band floors are the
//!   spectral cue: room noise is coloured (pink noise and fan hum are strongest low down, hiss
//!   high up), while speech puts its energy into whichever band its vowels and fricatives fall
//!   in, so the band where the noise is weakest sees speech first; with one broadband energy a
//!   low rumble hides a quiet "s". Zero-crossing rate and spectral flatness were not used: white
//!   noise crosses zero as often as a fricative and is as flat, so exactly in the noisy rooms
//!   where help is needed they mistake noise for speech; per-band SNR carries the useful part
//!   of both. Below 200 Hz (mains hum, rumble, DC) nothing is measured.
//! - **Noise floors.** Tracked in [`Endpointer::observe_background`] and during the command.
//!   A floor falls quickly to quieter energy, rises slowly (≤ 3 dB/s) while the frame is not
//!   speech, and never stays below the lowest energy (40 ms mean) of the last ~2.5 s: minimum
//!   statistics. That last rule is what keeps stationary noise from holding a command open:
//!   speech dips between syllables all the time, steady noise does not, so a fan switched on
//!   mid-command becomes floor within ~2.5 s and the command then ends on silence. Talk keeps
//!   dipping: one to four overlapping voices were measured to count as speech to
//!   `max_command`. Floors never go below -80 dB (band energy relative to full scale), so
//!   digital silence does not turn the faintest hiss into speech.
//! - **Speech.** A frame is active when its score exceeds 9 dB (4 dB while a run of speech
//!   is already going on: hysteresis) and it is within 30 dB of the recent peak level (a room's
//!   echo after a word decays below that quickly; without this rule a reverberant room adds
//!   its whole decay to every command). Active frames form runs; a run survives gaps of up to
//!   150 ms (hangover: stops and short pauses inside words), and counts as speech only once it
//!   holds 100 ms of active frames (60 ms for later words of a command), so clicks and knocks
//!   neither start nor prolong a command.
//! - **Decisions**, counted in samples since [`Endpointer::start`]:
//!   `end_silence` after the end of the last speech → [`EndReason::Silence`]; `max_command` →
//!   [`EndReason::MaxLength`]; `no_speech_timeout` without any speech →
//!   [`EndpointEvent::NoSpeech`]. Silence before the first speech is governed by
//!   `no_speech_timeout` only, so a pause after the wake word never ends the command.
//! - **Speech carried over the wake word.** If speech is going on at [`Endpointer::start`],
//!   the run continues, but only what is heard from then on counts, and only from the first new
//!   syllable (the score rising 6 dB): the wake word's own tail and its echo only fall, and do
//!   not count. The detector may also fire a little before the wake word is over; so carried
//!   speech shorter than 300 ms is *provisional*: it ends the command only after 1.5 s of
//!   silence (the pause people leave after a wake word), and any later speech replaces it.
//!   A command in the same breath ("hey jarvis, turn on the light") ends after `end_silence`
//!   as usual; a one-word one ("hey jarvis, stop") ends after 1.5 s.

use std::time::Duration;

use crate::audio::SAMPLE_RATE;
use crate::config::EndpointSettings;

/// Samples per analysis frame: 10 ms at 16 kHz.
const FRAME: usize = SAMPLE_RATE as usize / 100;
/// Frames per second.
const FRAMES_PER_SECOND: f64 = 100.0;
/// Number of analysis bands.
const BANDS: usize = 4;
/// Band edges in Hz (high-pass corner, low-pass corner).
const BAND_EDGES: [(f32, f32); BANDS] = [(200.0, 600.0), (600.0, 1_500.0), (1_500.0, 3_500.0), (3_500.0, 7_000.0)];
/// Score (dB above floor, best band) that starts a run of speech.
const ON_DB: f32 = 9.0;
/// Score that keeps a run going (hysteresis).
const OFF_DB: f32 = 4.0;
/// Rise of the score (dB) that marks a new syllable in speech carried over the wake word.
const ONSET_DB: f32 = 6.0;
/// Frames this far below the recent peak level are not speech (the room's echo after a word).
const PEAK_RANGE_DB: f32 = 30.0;
/// Decay of the peak level per frame: 10 dB/s.
const PEAK_DECAY_DB: f32 = 0.1;
/// Floors never fall below this energy (dB relative to full scale squared).
const ABS_FLOOR_DB: f32 = -80.0;
/// Energy assigned to a frame of digital silence (below [`ABS_FLOOR_DB`]).
const SILENT_DB: f32 = -120.0;
/// Inactive frames a run survives (hangover): 150 ms.
const RUN_GAP_FRAMES: u32 = 15;
/// Active frames a run needs before it counts as speech, while the command has none yet.
const FIRST_RUN_FRAMES: u32 = 10;
/// Active frames a later run needs (words after the first).
const NEXT_RUN_FRAMES: u32 = 6;
/// Active frames after `start` that make speech carried over the wake word certainly the
/// command's (300 ms; shorter stretches may be the end of the wake word itself).
const SURE_CARRIED_FRAMES: u32 = 30;
/// Silence that ends a command whose only speech is a short stretch carried over the wake word:
/// long enough for the pause people leave after a wake word.
const PROVISIONAL_SILENCE: Duration = Duration::from_millis(1_500);
/// Smoothing of the floor-tracking energy (per frame): ~40 ms, short enough that the gaps
/// between syllables show as dips.
const LONG_ALPHA: f32 = 0.25;
/// How fast a floor follows quieter energy (fraction of the gap per frame).
const FLOOR_DOWN: f32 = 0.3;
/// How fast a floor follows louder energy in non-speech frames (fraction of the gap per frame).
const FLOOR_UP: f32 = 0.02;
/// Largest floor rise per frame in non-speech frames: 3 dB/s.
const FLOOR_UP_MAX_DB: f32 = 0.03;
/// Minimum statistics: frames per sub-window (320 ms).
const MIN_SUBWINDOW_FRAMES: u32 = 32;
/// Minimum statistics: sub-windows remembered (8 × 320 ms ≈ 2.5 s).
const MIN_SUBWINDOWS: usize = 8;

/// How a command is cut: the three durations of `[endpoint]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Trailing silence after speech that ends the command.
    pub end_silence: Duration,
    /// Longest command; it is cut here even if speech goes on.
    pub max_command: Duration,
    /// How long to wait for speech after the wake word before giving up.
    pub no_speech_timeout: Duration,
}

impl From<&EndpointSettings> for EndpointOptions {
    fn from(settings: &EndpointSettings) -> Self {
        Self {
            end_silence: settings.end_silence,
            max_command: settings.max_command,
            no_speech_timeout: settings.no_speech_timeout,
        }
    }
}

/// What [`Endpointer::push`] decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EndpointEvent {
    /// Nothing decided yet.
    Continue,
    /// Command over.
    End {
        /// Why it ended.
        reason: EndReason,
        /// Samples since [`Endpointer::start`] where the last speech ended (the pipeline trims
        /// the clip to it plus a short tail). For [`EndReason::MaxLength`] with speech still
        /// going on, the samples heard so far.
        speech_end: usize,
    },
    /// No speech began within `no_speech_timeout` (or `max_command`, if that is shorter).
    NoSpeech,
}

/// Why a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// `end_silence` of silence followed the speech.
    Silence,
    /// The command reached `max_command`.
    MaxLength,
}

/// Where the endpointer is between wake words.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for the wake word ([`Endpointer::observe_background`]).
    Background,
    /// A command is being heard.
    Command,
    /// The command is decided; the decision is repeated until the next start.
    Decided(EndpointEvent),
}

/// One second-order IIR section (transposed direct form II).
#[derive(Debug, Clone, Copy)]
struct Biquad {
    /// Feed-forward coefficients.
    b: [f32; 3],
    /// Feedback coefficients (a1, a2; a0 normalised to 1).
    a: [f32; 2],
    /// The two state variables.
    z: [f32; 2],
}

impl Biquad {
    /// Butterworth low-pass (`high_pass == false`) or high-pass at `corner` Hz.
    fn butterworth(corner: f32, high_pass: bool) -> Self {
        let w0 = std::f32::consts::TAU * corner / SAMPLE_RATE as f32;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / std::f32::consts::SQRT_2; // Q = 1/√2
        let a0 = 1.0 + alpha;
        let b = if high_pass {
            [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0]
        } else {
            [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0]
        };
        Self { b: b.map(|v| v / a0), a: [-2.0 * cos / a0, (1.0 - alpha) / a0], z: [0.0; 2] }
    }

    #[inline]
    fn process(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    /// Flushes denormal-sized state to zero (they make x86 arithmetic very slow after silence).
    fn flush_tiny(&mut self) {
        for z in &mut self.z {
            if z.abs() < 1e-20 {
                *z = 0.0;
            }
        }
    }
}

/// One analysis band: its filters, energies and noise floor.
#[derive(Debug, Clone, Copy)]
struct Band {
    /// High-pass then low-pass.
    filters: [Biquad; 2],
    /// Sum of squares of the filtered samples of the frame being filled.
    acc: f32,
    /// Power of the previous frame.
    previous: f32,
    /// Decision energy (power, mean of this frame and the previous one: 20 ms).
    short: f32,
    /// Floor-tracking energy (power, smoothed over ~40 ms).
    long: f32,
    /// Noise floor in dB.
    floor: f32,
    /// Minimum of `long` (dB) in the current minimum-statistics sub-window.
    sub_min: f32,
    /// Minima of the previous sub-windows (ring).
    sub_mins: [f32; MIN_SUBWINDOWS],
}

impl Band {
    fn new(low: f32, high: f32) -> Self {
        Self {
            filters: [Biquad::butterworth(low, true), Biquad::butterworth(high, false)],
            acc: 0.0,
            previous: 0.0,
            short: 0.0,
            long: 0.0,
            floor: ABS_FLOOR_DB,
            sub_min: f32::INFINITY,
            sub_mins: [f32::INFINITY; MIN_SUBWINDOWS],
        }
    }

    /// Minimum of `long` over the remembered sub-windows and the current one.
    fn window_min(&self) -> f32 {
        self.sub_mins.iter().fold(self.sub_min, |m, &v| m.min(v))
    }
}

/// Power to dB, with digital silence mapped to [`SILENT_DB`].
fn db(power: f32) -> f32 {
    if power > 1e-12 { 10.0 * power.log10() } else { SILENT_DB }
}

/// Decides when a spoken command is over. See the [module documentation](self) for how.
///
/// Feed it every 16 kHz block while waiting for the wake word
/// ([`observe_background`](Self::observe_background)), call [`start`](Self::start) when the
/// wake word fires, then [`push`](Self::push) the command's blocks until it returns something
/// other than [`EndpointEvent::Continue`]. Blocks may have any length. Nothing is allocated
/// after [`new`](Self::new), and no samples are kept.
#[derive(Debug, Clone)]
pub struct Endpointer {
    /// Trailing silence that ends a command, in frames.
    end_silence: usize,
    /// Longest command, in frames.
    max_command: usize,
    /// Wait for the first speech, in frames.
    no_speech: usize,
    /// Trailing silence that ends a command whose only speech is provisional, in frames.
    provisional_silence: usize,
    /// The analysis bands.
    bands: [Band; BANDS],
    /// Samples summed into the frame being filled.
    filled: usize,
    /// Whether any frame has been analysed yet (the first one seeds the floors).
    seeded: bool,
    /// Frames into the current minimum-statistics sub-window.
    sub_frames: u32,
    /// Next sub-window slot to overwrite.
    sub_next: usize,
    /// A run of active frames is going on (within the hangover).
    in_run: bool,
    /// Active frames in the current run (since `start` for a run carried over the wake word).
    run_active: u32,
    /// Inactive frames since the run's last active frame.
    run_gap: u32,
    /// The current run has counted as speech.
    run_is_speech: bool,
    /// The current run was going on at `start` and has not risen to a new syllable since:
    /// its active frames do not count yet (they may be the wake word's decay or echo).
    carried: bool,
    /// Lowest score since `start` while `carried`.
    carried_min: f32,
    /// The current run began before `start`.
    run_from_wake: bool,
    /// The only speech so far is a short stretch of a run that began before `start`: it may
    /// be the end of the wake word, so `end_silence` does not end the command yet.
    provisional: bool,
    /// Loudest recent level (dB, best band), decaying.
    peak: f32,
    /// Frames still to be ignored (Hearth's own tone, see [`Endpointer::ignore`]).
    ignore_frames: usize,
    /// Frames analysed since `start`.
    frames: usize,
    /// Frame (since `start`) where the last speech counted so far ended.
    speech_end: Option<usize>,
    /// Between wake words, hearing a command, or decided.
    phase: Phase,
}

impl Endpointer {
    /// An endpointer with the given durations; it knows nothing about the room yet (feed it
    /// background first).
    pub fn new(options: EndpointOptions) -> Self {
        let frames = |d: Duration| ((d.as_secs_f64() * FRAMES_PER_SECOND).round() as usize).max(1);
        Self {
            end_silence: frames(options.end_silence),
            max_command: frames(options.max_command),
            no_speech: frames(options.no_speech_timeout),
            provisional_silence: frames(options.end_silence.max(PROVISIONAL_SILENCE)),
            bands: BAND_EDGES.map(|(low, high)| Band::new(low, high)),
            filled: 0,
            seeded: false,
            sub_frames: 0,
            sub_next: 0,
            in_run: false,
            run_active: 0,
            run_gap: 0,
            run_is_speech: false,
            carried: false,
            carried_min: f32::INFINITY,
            run_from_wake: false,
            provisional: false,
            peak: SILENT_DB,
            ignore_frames: 0,
            frames: 0,
            speech_end: None,
            phase: Phase::Background,
        }
    }

    /// Every block heard while waiting for the wake word (16 kHz mono `f32` in `[-1, 1]`,
    /// typically [`BLOCK_SAMPLES`](crate::audio::BLOCK_SAMPLES)): tracks the room's noise floor
    /// and whether speech is going on right now. Calling it during a command abandons the
    /// command.
    pub fn observe_background(&mut self, block: &[f32]) {
        if self.phase != Phase::Background {
            self.phase = Phase::Background;
            self.speech_end = None;
        }
        for &x in block {
            if self.feed(x) {
                self.frame_done();
            }
        }
    }

    /// Whether speech is going on right now, as far as the background heard (a run of
    /// speech-like frames within its 150 ms hangover).
    pub fn speech_now(&self) -> bool {
        self.in_run
    }

    /// The next `samples` of input are Hearth's own sound coming back through the microphone
    /// (a feedback tone and its echo): they count neither as speech nor towards the noise
    /// floor or the peak level, though time runs on. Call it when a tone starts playing (after
    /// [`start`](Self::start) for the wake chime, which `start` would otherwise forget), with
    /// the tone's length plus the output latency and the room's echo (~150 ms). Without it,
    /// a wake chime heard by the microphone is speech, and a pause after it ends the command.
    pub fn ignore(&mut self, samples: usize) {
        self.ignore_frames = samples.div_ceil(FRAME);
    }

    /// A command starts (the wake word just fired). If speech is going on at this moment (the
    /// command follows the wake word in the same breath), it continues as speech already
    /// started; only what is heard from now on counts towards it (see the module docs).
    pub fn start(&mut self) {
        self.phase = Phase::Command;
        self.frames = 0;
        self.speech_end = None;
        // Frames are counted from here; the partial frame's energy belongs to the wake word.
        self.filled = 0;
        for band in &mut self.bands {
            band.acc = 0.0;
        }
        self.run_active = 0;
        self.run_is_speech = false;
        self.carried = self.in_run;
        self.carried_min = f32::INFINITY;
        self.run_from_wake = self.in_run;
        self.provisional = false;
        self.ignore_frames = 0;
    }

    /// The next block of the command. Sample offsets are counted from [`start`](Self::start)
    /// (without a `start`, the first `push` starts the command). Once something other than
    /// [`EndpointEvent::Continue`] is returned, the same event is returned until the next
    /// `start`.
    pub fn push(&mut self, block: &[f32]) -> EndpointEvent {
        match self.phase {
            Phase::Decided(event) => return event,
            Phase::Background => self.start(),
            Phase::Command => {}
        }
        for &x in block {
            if self.feed(x) {
                self.frame_done();
                let event = self.decide();
                if event != EndpointEvent::Continue {
                    self.phase = Phase::Decided(event);
                    return event;
                }
            }
        }
        EndpointEvent::Continue
    }

    /// Filters one sample into the band sums; true when a frame is complete.
    #[inline]
    fn feed(&mut self, x: f32) -> bool {
        let x = if x.is_finite() { x } else { 0.0 };
        for band in &mut self.bands {
            let high_passed = band.filters[0].process(x);
            let y = band.filters[1].process(high_passed);
            band.acc += y * y;
        }
        self.filled += 1;
        self.filled == FRAME
    }

    /// Closes a frame: updates energies, the speech decision, runs and floors.
    fn frame_done(&mut self) {
        self.filled = 0;
        let mut score = f32::NEG_INFINITY;
        let mut level = SILENT_DB;
        for band in &mut self.bands {
            let power = band.acc / FRAME as f32;
            band.acc = 0.0;
            for f in &mut band.filters {
                f.flush_tiny();
            }
            if self.seeded {
                band.long += LONG_ALPHA * (power - band.long);
            } else {
                band.previous = power;
                band.long = power;
                band.floor = db(power).max(ABS_FLOOR_DB);
            }
            band.short = 0.5 * (power + band.previous);
            band.previous = power;
            score = score.max(db(band.short) - band.floor);
            level = level.max(db(band.short));
        }
        self.seeded = true;

        if self.ignore_frames > 0 {
            // Our own tone: time runs, nothing is learnt, and it is not speech.
            self.ignore_frames -= 1;
            self.update_run(false);
            if self.carried && !self.in_run {
                self.carried = false;
            }
            if self.phase == Phase::Command {
                self.frames += 1;
            }
            return;
        }
        self.peak = (self.peak - PEAK_DECAY_DB).max(level);
        let active = score > if self.in_run { OFF_DB } else { ON_DB } && level > self.peak - PEAK_RANGE_DB;
        self.update_floors(active);
        if self.carried {
            // Speech carried over the wake word counts once it rises again (a new syllable);
            // a decaying tail or echo of the wake word only falls.
            self.carried_min = self.carried_min.min(score);
            if score > ON_DB && score - self.carried_min >= ONSET_DB {
                self.carried = false;
            }
        }
        self.update_run(active);
        if self.carried && !self.in_run {
            self.carried = false;
        }
        if self.phase == Phase::Command {
            self.frames += 1;
            if self.run_is_speech && active {
                self.speech_end = Some(self.frames);
            }
        }
    }

    /// Noise floors: fast down, slow up outside speech, never below the recent minimum.
    fn update_floors(&mut self, active: bool) {
        self.sub_frames += 1;
        let close_subwindow = self.sub_frames == MIN_SUBWINDOW_FRAMES;
        for band in &mut self.bands {
            let long = db(band.long);
            band.sub_min = band.sub_min.min(long);
            if long < band.floor {
                band.floor += FLOOR_DOWN * (long - band.floor);
            } else if !active {
                band.floor += (FLOOR_UP * (long - band.floor)).min(FLOOR_UP_MAX_DB);
            }
            band.floor = band.floor.max(band.window_min()).max(ABS_FLOOR_DB);
            if close_subwindow {
                band.sub_mins[self.sub_next] = band.sub_min;
                band.sub_min = f32::INFINITY;
            }
        }
        if close_subwindow {
            self.sub_frames = 0;
            self.sub_next = (self.sub_next + 1) % MIN_SUBWINDOWS;
        }
    }

    /// Runs of active frames, their hangover, and when a run counts as speech.
    fn update_run(&mut self, active: bool) {
        if active {
            if !self.in_run {
                self.in_run = true;
                self.run_active = 0;
                self.run_is_speech = false;
                self.run_from_wake = false;
            }
            self.run_gap = 0;
            if self.carried {
                return;
            }
            self.run_active += 1;
            let has_speech = self.speech_end.is_some() && !self.provisional;
            let needed = if has_speech { NEXT_RUN_FRAMES } else { FIRST_RUN_FRAMES };
            if !self.run_is_speech && self.run_active >= needed {
                self.run_is_speech = true;
                self.provisional = self.run_from_wake && self.phase == Phase::Command;
            }
            if self.run_from_wake && self.run_active >= SURE_CARRIED_FRAMES {
                self.provisional = false;
            }
        } else if self.in_run {
            self.run_gap += 1;
            if self.run_gap > RUN_GAP_FRAMES {
                self.in_run = false;
                self.run_is_speech = false;
            }
        }
    }

    /// The decision after a frame of the command.
    fn decide(&self) -> EndpointEvent {
        let samples = |frames: usize| frames * FRAME;
        match self.speech_end {
            Some(end) if self.frames - end >= self.end_silence && !self.provisional => {
                EndpointEvent::End { reason: EndReason::Silence, speech_end: samples(end) }
            }
            Some(end) if self.frames >= self.max_command => {
                let end = if self.in_run && self.run_is_speech { self.frames } else { end };
                EndpointEvent::End { reason: EndReason::MaxLength, speech_end: samples(end) }
            }
            // Speech that followed the wake word in one breath and was short ("…jarvis, stop"):
            // a longer silence shows nothing else is coming, so it was the command.
            Some(end) if self.provisional && self.frames - end >= self.provisional_silence => {
                EndpointEvent::End { reason: EndReason::Silence, speech_end: samples(end) }
            }
            Some(_) => EndpointEvent::Continue,
            // A run that may still become speech gets to finish (it is bounded: it either
            // reaches its length or its hangover runs out), unless the command is at its limit.
            None if self.frames >= self.max_command => EndpointEvent::NoSpeech,
            None if self.frames >= self.no_speech && !self.in_run => EndpointEvent::NoSpeech,
            None => EndpointEvent::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = SAMPLE_RATE as f64;
    const BLOCK: usize = crate::audio::BLOCK_SAMPLES;

    fn samples(secs: f64) -> usize {
        (secs * RATE).round() as usize
    }

    fn options() -> EndpointOptions {
        EndpointOptions {
            end_silence: Duration::from_millis(700),
            max_command: Duration::from_secs(10),
            no_speech_timeout: Duration::from_secs(4),
        }
    }

    /// SplitMix64, for repeatable noise.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in [lo, hi).
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.unit()
        }
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    fn scale_to(mut x: Vec<f32>, target_rms: f64) -> Vec<f32> {
        let k = target_rms / rms(&x).max(1e-12);
        x.iter_mut().for_each(|v| *v = (f64::from(*v) * k) as f32);
        x
    }

    fn white(secs: f64, level: f64, seed: u64) -> Vec<f32> {
        let mut rng = Rng(seed);
        scale_to((0..samples(secs)).map(|_| rng.range(-1.0, 1.0) as f32).collect(), level)
    }

    /// Pink noise (Paul Kellett's economy filter over white noise).
    fn pink(secs: f64, level: f64, seed: u64) -> Vec<f32> {
        let mut rng = Rng(seed);
        let mut b = [0.0f64; 3];
        let v = (0..samples(secs))
            .map(|_| {
                let w = rng.range(-1.0, 1.0);
                b[0] = 0.99765 * b[0] + w * 0.0990460;
                b[1] = 0.96300 * b[1] + w * 0.2965164;
                b[2] = 0.57000 * b[2] + w * 1.0526913;
                (b[0] + b[1] + b[2] + w * 0.1848) as f32
            })
            .collect();
        scale_to(v, level)
    }

    /// Speech-like sound: syllables of a voiced harmonic complex (gliding pitch, falling
    /// spectrum, smooth envelope), some followed by a fricative hiss, with short gaps between
    /// them — never a gap longer than 90 ms. Ends exactly at the end of the last syllable.
    fn speech(secs: f64, level: f64, seed: u64) -> Vec<f32> {
        let mut rng = Rng(seed);
        let mut out = Vec::new();
        while (out.len() as f64) < secs * RATE {
            let len = samples(rng.range(0.12, 0.26));
            let f0 = rng.range(100.0, 230.0);
            let glide = rng.range(-0.3, 0.3);
            let mut phase = 0.0f64;
            for i in 0..len {
                let t = i as f64 / RATE;
                let f = f0 * (1.0 + glide * t);
                phase += std::f64::consts::TAU * f / RATE;
                let mut v = 0.0;
                let mut k = 1.0;
                while k * f < 4_000.0 {
                    v += (k * phase).sin() / k;
                    k += 1.0;
                }
                let attack = (i as f64 / samples(0.02) as f64).min(1.0);
                let release = ((len - i) as f64 / samples(0.03) as f64).min(1.0);
                out.push((v * attack * release) as f32);
            }
            if rng.unit() < 0.3 {
                let hiss = samples(rng.range(0.04, 0.09));
                let mut previous = 0.0;
                for i in 0..hiss {
                    let w = rng.range(-1.0, 1.0);
                    let edge = ((i.min(hiss - i)) as f64 / samples(0.01) as f64).min(1.0);
                    out.push(((w - previous) * 0.3 * edge) as f32);
                    previous = w;
                }
            }
            if (out.len() as f64) < secs * RATE {
                out.extend(std::iter::repeat_n(0.0, samples(rng.range(0.03, 0.09))));
            }
        }
        // End on a syllable, not on a gap.
        while out.last() == Some(&0.0) {
            out.pop();
        }
        scale_to(out, level)
    }

    fn silence(secs: f64) -> Vec<f32> {
        vec![0.0; samples(secs)]
    }

    fn concat(parts: &[&[f32]]) -> Vec<f32> {
        parts.concat()
    }

    /// Adds `noise` (cycled) onto `x`.
    fn plus(mut x: Vec<f32>, noise: &[f32]) -> Vec<f32> {
        x.iter_mut().zip(noise.iter().cycle()).for_each(|(a, b)| *a += b);
        x
    }

    /// What happened, and after how many samples of the command it was decided.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Outcome {
        event: EndpointEvent,
        decided_at: usize,
    }

    /// Feeds `audio`: `observe_background` before `start_at`, `push` after, in `block`-sized
    /// pieces (the block that straddles `start_at` is split there).
    fn run_blocks(ep: &mut Endpointer, audio: &[f32], start_at: usize, block: usize) -> Outcome {
        let (background, command) = audio.split_at(start_at);
        for b in background.chunks(block) {
            ep.observe_background(b);
        }
        ep.start();
        let mut pos = 0;
        for b in command.chunks(block) {
            pos += b.len();
            let event = ep.push(b);
            if event != EndpointEvent::Continue {
                return Outcome { event, decided_at: pos };
            }
        }
        Outcome { event: EndpointEvent::Continue, decided_at: pos }
    }

    fn run(audio: &[f32], start_at: usize) -> Outcome {
        run_blocks(&mut Endpointer::new(options()), audio, start_at, BLOCK)
    }

    /// Asserts an end on silence with `speech_end` within `tolerance` s of `true_end` (samples
    /// since start) and the decision `end_silence` after `speech_end`, to a block.
    fn assert_silence_end(outcome: Outcome, true_end: usize, tolerance: f64) {
        let EndpointEvent::End { reason, speech_end } = outcome.event else {
            panic!("expected an end, got {outcome:?} (speech ended at {true_end})");
        };
        assert_eq!(reason, EndReason::Silence, "{outcome:?}");
        let error = (speech_end as f64 - true_end as f64) / RATE;
        assert!(error.abs() <= tolerance, "speech_end off by {error:.3} s: {outcome:?}, true end {true_end}");
        let wait = outcome.decided_at - speech_end;
        assert!(wait >= samples(0.7) && wait < samples(0.7) + BLOCK, "decided {wait} samples after speech_end");
    }

    #[test]
    fn options_come_from_the_config() {
        let settings = EndpointSettings {
            end_silence: Duration::from_millis(800),
            max_command: Duration::from_secs(8),
            no_speech_timeout: Duration::from_secs(3),
        };
        let options = EndpointOptions::from(&settings);
        assert_eq!(options.end_silence, Duration::from_millis(800));
        assert_eq!(options.max_command, Duration::from_secs(8));
        assert_eq!(options.no_speech_timeout, Duration::from_secs(3));
    }

    #[test]
    fn silence_gives_no_speech_at_the_timeout() {
        let audio = silence(8.0);
        let outcome = run(&audio, samples(1.0));
        assert_eq!(outcome.event, EndpointEvent::NoSpeech);
        assert!(outcome.decided_at >= samples(4.0) && outcome.decided_at < samples(4.0) + BLOCK, "{outcome:?}");
    }

    #[test]
    fn trailing_silence_ends_the_command() {
        let room = pink(8.0, 0.001, 1);
        let words = speech(1.6, 0.05, 2);
        let audio = plus(concat(&[&silence(1.5), &silence(0.4), &words, &silence(3.0)]), &room);
        let outcome = run(&audio, samples(1.5));
        assert_silence_end(outcome, samples(0.4) + words.len(), 0.06);
    }

    #[test]
    fn a_tone_burst_counts_like_speech() {
        let tone: Vec<f32> =
            (0..samples(0.5)).map(|i| 0.1 * (i as f32 * 1_000.0 * std::f32::consts::TAU / 16_000.0).sin()).collect();
        let audio = concat(&[&silence(1.0), &silence(0.3), &tone, &silence(2.0)]);
        let outcome = run(&audio, samples(1.0));
        assert_silence_end(outcome, samples(0.3) + tone.len(), 0.03);
    }

    #[test]
    fn pauses_between_words_shorter_than_end_silence_do_not_end_the_command() {
        let first = speech(0.8, 0.05, 3);
        let second = speech(0.8, 0.05, 4);
        let audio = concat(&[&silence(1.0), &first, &silence(0.5), &second, &silence(2.0)]);
        let outcome = run(&audio, samples(1.0));
        assert_silence_end(outcome, first.len() + samples(0.5) + second.len(), 0.06);
    }

    #[test]
    fn a_pause_longer_than_end_silence_ends_the_command() {
        let first = speech(0.8, 0.05, 5);
        let second = speech(0.8, 0.05, 6);
        let audio = concat(&[&silence(1.0), &first, &silence(1.0), &second, &silence(2.0)]);
        let outcome = run(&audio, samples(1.0));
        assert_silence_end(outcome, first.len(), 0.06);
    }

    /// "hey jarvis" … (wake word fires 0.1 s later) … a 1 s pause … the command.
    #[test]
    fn a_pause_after_the_wake_word_does_not_end_the_command() {
        let room = white(8.0, 0.002, 7);
        let wake = speech(0.7, 0.05, 8);
        let command = speech(1.2, 0.05, 9);
        for pause in [0.3, 0.6, 1.0] {
            let audio = plus(concat(&[&silence(1.5), &wake, &silence(pause), &command, &silence(2.0)]), &room);
            let start_at = samples(1.5) + wake.len() + samples(0.1);
            let true_end = samples(pause - 0.1) + command.len();
            assert_silence_end(run(&audio, start_at), true_end, 0.06);
        }
    }

    /// The wake word fires 0.15 s before it is over, then the speaker pauses.
    #[test]
    fn the_end_of_the_wake_word_is_not_the_command() {
        let wake = speech(0.7, 0.05, 10);
        let command = speech(1.2, 0.05, 11);
        for pause in [0.3, 0.6, 1.0] {
            let audio = concat(&[&silence(1.5), &wake, &silence(pause), &command, &silence(2.0)]);
            let start_at = samples(1.5) + wake.len() - samples(0.15);
            let true_end = samples(0.15 + pause) + command.len();
            assert_silence_end(run(&audio, start_at), true_end, 0.06);
        }
    }

    /// "hey jarvis turn on the light" in one breath: speech is going on at start.
    #[test]
    fn speech_in_the_same_breath_counts_from_start() {
        let breath = speech(2.5, 0.05, 12);
        let audio = concat(&[&silence(1.5), &breath, &silence(2.0)]);
        let start_at = samples(1.5 + 0.8);
        let mut ep = Endpointer::new(options());
        for b in audio[..start_at].chunks(BLOCK) {
            ep.observe_background(b);
        }
        assert!(ep.speech_now());
        let outcome = run(&audio, start_at);
        assert_silence_end(outcome, breath.len() - samples(0.8), 0.06);
    }

    /// "hey jarvis stop": one short word right after the wake word; it ends after the longer
    /// silence that provisional speech needs.
    #[test]
    fn one_short_word_in_the_same_breath_ends_after_a_longer_silence() {
        let breath = speech(1.0, 0.05, 13);
        let audio = concat(&[&silence(1.5), &breath, &silence(3.0)]);
        let start_at = samples(1.5) + breath.len() - samples(0.25);
        let outcome = run(&audio, start_at);
        let EndpointEvent::End { reason: EndReason::Silence, speech_end } = outcome.event else {
            panic!("{outcome:?}");
        };
        assert!(speech_end.abs_diff(samples(0.25)) <= samples(0.06), "{outcome:?}");
        let wait = outcome.decided_at - speech_end;
        assert!(wait >= samples(1.5) && wait < samples(1.5) + BLOCK, "{outcome:?}");
    }

    #[test]
    fn stationary_noise_at_10_to_20_db_snr() {
        let level = 0.05;
        for snr in [10.0, 15.0, 20.0] {
            let noise_level = level / 10f64.powf(snr / 20.0);
            for (name, room) in [("white", white(9.0, noise_level, 14)), ("pink", pink(9.0, noise_level, 15))] {
                let wake = speech(0.7, level, 16);
                let command = speech(1.5, level, 17);
                let audio = plus(concat(&[&silence(1.5), &wake, &silence(0.6), &command, &silence(3.0)]), &room);
                let start_at = samples(1.5) + wake.len() + samples(0.1);
                let outcome = run(&audio, start_at);
                let true_end = samples(0.5) + command.len();
                let EndpointEvent::End { reason: EndReason::Silence, speech_end } = outcome.event else {
                    panic!("{name} noise at {snr} dB: {outcome:?}");
                };
                let error = (speech_end as f64 - true_end as f64) / RATE;
                assert!(error.abs() <= 0.15, "{name} noise at {snr} dB: off by {error:.3} s");
            }
        }
    }

    #[test]
    fn noise_alone_gives_no_speech() {
        for level in [0.0003, 0.003, 0.03, 0.2] {
            for (name, room) in [("white", white(8.0, level, 18)), ("pink", pink(8.0, level, 19))] {
                for background in [0.0, 1.5] {
                    let outcome = run(&room, samples(background));
                    assert_eq!(outcome.event, EndpointEvent::NoSpeech, "{name} noise, rms {level}, {background} s");
                }
            }
        }
    }

    #[test]
    fn hum_and_rumble_are_not_speech() {
        let t = |i: usize| i as f64 / RATE;
        let hum: Vec<f32> = (0..samples(9.0))
            .map(|i| {
                (1..8).map(|k| 0.02 / k as f64 * (std::f64::consts::TAU * 50.0 * k as f64 * t(i)).sin()).sum::<f64>()
                    as f32
            })
            .collect();
        let words = speech(1.2, 0.03, 20);
        let audio = plus(concat(&[&silence(1.5), &silence(0.5), &words, &silence(3.0)]), &hum);
        assert_silence_end(run(&audio, samples(1.5)), samples(0.5) + words.len(), 0.06);
        assert_eq!(run(&hum, samples(1.5)).event, EndpointEvent::NoSpeech);
    }

    /// A fan switched on right after the command (20 dB louder than the room was) must not
    /// hold the command open until `max_command`.
    #[test]
    fn noise_switched_on_during_the_command_does_not_hold_it_open() {
        let words = speech(1.0, 0.05, 21);
        let quiet = white(1.8, 0.001, 22);
        let fan = pink(10.0, 0.01, 23);
        let audio = concat(&[&quiet, &plus(words.clone(), &white(1.0, 0.001, 24)), &fan]);
        let outcome = run(&audio, samples(1.5));
        let EndpointEvent::End { reason: EndReason::Silence, .. } = outcome.event else {
            panic!("{outcome:?}");
        };
        assert!(outcome.decided_at < samples(0.3 + 1.0 + 2.6 + 0.7 + 0.3), "{outcome:?}");
    }

    #[test]
    fn endless_speech_stops_at_max_command() {
        let talk = speech(13.0, 0.05, 25);
        let audio = concat(&[&silence(1.0), &talk]);
        let outcome = run(&audio, samples(1.0));
        let EndpointEvent::End { reason: EndReason::MaxLength, speech_end } = outcome.event else {
            panic!("{outcome:?}");
        };
        assert!(outcome.decided_at >= samples(10.0) && outcome.decided_at < samples(10.0) + BLOCK);
        assert!(speech_end > samples(9.8) && speech_end <= samples(10.0), "{outcome:?}");
    }

    #[test]
    fn clicks_are_not_speech() {
        let mut audio = silence(8.0);
        let mut rng = Rng(26);
        for k in 0..14 {
            let at = samples(1.5 + 0.45 * k as f64);
            for v in &mut audio[at..at + samples(0.02)] {
                *v = rng.range(-0.5, 0.5) as f32;
            }
        }
        assert_eq!(run(&audio, samples(1.5)).event, EndpointEvent::NoSpeech);
    }

    #[test]
    fn block_size_does_not_matter() {
        let room = pink(8.0, 0.002, 27);
        let wake = speech(0.7, 0.05, 28);
        let command = speech(1.5, 0.05, 29);
        let audio = plus(concat(&[&silence(1.5), &wake, &silence(0.5), &command, &silence(3.0)]), &room);
        let start_at = samples(1.5) + wake.len() + samples(0.1);
        let event = |block| run_blocks(&mut Endpointer::new(options()), &audio, start_at, block).event;
        let reference = event(BLOCK);
        assert!(matches!(reference, EndpointEvent::End { reason: EndReason::Silence, .. }), "{reference:?}");
        for block in [1, 7, 160, 512, 4_000] {
            assert_eq!(event(block), reference, "block of {block}");
        }
    }

    #[test]
    fn non_finite_samples_are_ignored() {
        let words = speech(1.0, 0.05, 30);
        let mut audio = concat(&[&silence(1.0), &silence(0.3), &words, &silence(2.0)]);
        audio[samples(0.5)] = f32::NAN;
        audio[samples(1.1)] = f32::INFINITY;
        audio[samples(2.0)] = f32::NEG_INFINITY;
        assert_silence_end(run(&audio, samples(1.0)), samples(0.3) + words.len(), 0.06);
    }

    #[test]
    fn the_decision_repeats_until_the_next_command() {
        let words = speech(1.0, 0.05, 31);
        let command = concat(&[&silence(0.3), &words, &silence(2.0)]);
        let mut ep = Endpointer::new(options());
        ep.observe_background(&silence(1.0));
        let first = run_blocks(&mut ep, &command, 0, BLOCK);
        assert!(matches!(first.event, EndpointEvent::End { reason: EndReason::Silence, .. }), "{first:?}");
        assert_eq!(ep.push(&words), first.event);
        assert_eq!(ep.push(&silence(5.0)), first.event);

        // Back to waiting, then a second command: the same answer as the first.
        ep.observe_background(&silence(1.0));
        let second = run_blocks(&mut ep, &command, 0, BLOCK);
        assert_eq!(second, first);

        // Without start(), push starts the command itself.
        ep.observe_background(&silence(1.0));
        assert_eq!(ep.push(&silence(0.1)), EndpointEvent::Continue);
    }

    /// The wake chime, played as the command starts, comes back through the microphone louder
    /// than the speaker. The user waits for it to end, pauses, then speaks.
    #[test]
    fn the_wake_chime_is_ignored_when_announced() {
        let chime: Vec<f32> = crate::feedback::synthesize(crate::feedback::Tone::Wake, SAMPLE_RATE)
            .into_iter()
            .map(|v| v * 1.5)
            .collect();
        let words = speech(1.2, 0.05, 32);
        let room = white(8.0, 0.001, 33);
        let after_start = concat(&[&chime, &silence(0.9), &words, &silence(2.0)]);
        let audio = plus(concat(&[&silence(1.5), &after_start]), &room);
        let true_end = chime.len() + samples(0.9) + words.len();

        // Not announced: the chime is taken for the command, and the pause ends it.
        let outcome = run(&audio, samples(1.5));
        let EndpointEvent::End { speech_end, .. } = outcome.event else { panic!("{outcome:?}") };
        assert!(speech_end < chime.len() + samples(0.1), "{outcome:?}");

        // Announced: only the words count.
        let mut ep = Endpointer::new(options());
        for b in audio[..samples(1.5)].chunks(BLOCK) {
            ep.observe_background(b);
        }
        ep.start();
        ep.ignore(chime.len() + samples(0.15));
        let mut outcome = Outcome { event: EndpointEvent::Continue, decided_at: 0 };
        for b in audio[samples(1.5)..].chunks(BLOCK) {
            outcome.decided_at += b.len();
            outcome.event = ep.push(b);
            if outcome.event != EndpointEvent::Continue {
                break;
            }
        }
        assert_silence_end(outcome, true_end, 0.06);
    }

    #[test]
    fn no_speech_timeout_longer_than_max_command() {
        let mut ep = Endpointer::new(EndpointOptions {
            end_silence: Duration::from_millis(700),
            max_command: Duration::from_secs(2),
            no_speech_timeout: Duration::from_secs(5),
        });
        let outcome = run_blocks(&mut ep, &silence(4.0), 0, BLOCK);
        assert_eq!(outcome.event, EndpointEvent::NoSpeech);
        assert!(outcome.decided_at >= samples(2.0) && outcome.decided_at < samples(2.0) + BLOCK);
    }
}
