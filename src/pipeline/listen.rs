//! The listening state machine of the DSP thread: every 16 kHz block goes through here, and out
//! come wake events and finished commands. Pure: no devices, threads or clocks; the wake word is
//! behind the [`WakeWord`] trait so the machine is tested with a scripted detector.
//!
//! While waiting, each block goes into the pre-roll ring (the last [`PRE_ROLL`] of audio), the
//! endpointer's background tracker and the wake-word detector. When the wake word fires, the
//! command starts with the pre-roll (so a command said in the same breath as the wake word is
//! not clipped; the wake word itself is then removed from the transcript) and grows block by
//! block until the endpointer ends it. The finished clip is trimmed to the end of speech plus
//! [`TAIL`] and handed out; everything else is wiped.

use std::time::Duration;

use crate::audio::{SAMPLE_RATE, Samples};
use crate::endpoint::{EndReason, EndpointEvent, Endpointer};

/// Audio kept from before the wake word fired when speech is still going on at that moment (the
/// command follows the wake word in one breath): openWakeWord fires 80–300 ms after the wake word
/// ends, and by then the first syllable of the command has begun.
pub const PRE_ROLL: Duration = Duration::from_millis(600);

/// Audio kept from before the wake word fired when the room is quiet at that moment (a pause
/// after the wake word): the command has not begun, and the wake word stays out of the clip.
pub const PRE_ROLL_AFTER_PAUSE: Duration = Duration::from_millis(100);

/// Audio kept after the end of speech, so the last phoneme is not cut.
pub const TAIL: Duration = Duration::from_millis(250);

/// Samples in `d` at 16 kHz.
pub fn samples_in(d: Duration) -> usize {
    (d.as_secs_f64() * f64::from(SAMPLE_RATE)).round() as usize
}

/// Audio duration of `n` samples at 16 kHz.
pub fn duration_of(n: usize) -> Duration {
    Duration::from_secs_f64(n as f64 / f64::from(SAMPLE_RATE))
}

/// How far into the clip (beyond the pre-roll) a pause after the wake word is looked for.
pub const WAKE_TAIL_SEARCH: Duration = Duration::from_millis(400);

/// Samples at the start of `clip` that are the end of the wake word: everything before the
/// pause that separates it from the command, when that pause starts within the first `search`
/// samples. A pause is at least 150 ms of 10 ms frames within 6 dB of the clip's quietest
/// frames (the room's noise, whatever its level). Said in one breath there is no such pause and
/// nothing is cut (the wake word is then removed from the transcript instead). 200 ms before the
/// end of the pause are kept, so the command's first sound is whole.
pub fn wake_word_tail(clip: &[f32], search: usize) -> usize {
    const FRAME: usize = 160;
    const MIN_PAUSE_FRAMES: usize = 15;
    const KEEP: usize = 3_200;
    let energies: Vec<f32> = clip
        .chunks_exact(FRAME)
        .map(|f| 10.0 * (f.iter().map(|x| x * x).sum::<f32>() / FRAME as f32 + 1e-10).log10())
        .collect();
    if energies.len() < 2 * MIN_PAUSE_FRAMES {
        return 0;
    }
    let mut sorted = energies.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let loudest = sorted[sorted.len() - 1];
    if loudest - floor < 15.0 {
        return 0;
    }
    let quiet = |e: f32| e < floor + 6.0;
    let mut cut = 0;
    let mut run_start = None;
    for (i, &e) in energies.iter().enumerate() {
        match (quiet(e), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(start)) => {
                run_start = None;
                let heard_before = energies[..start].iter().any(|&e| !quiet(e));
                if start * FRAME <= search && i - start >= MIN_PAUSE_FRAMES && heard_before {
                    cut = (i * FRAME).saturating_sub(KEEP);
                }
            }
            _ => {}
        }
        if i * FRAME > search && run_start.is_none() {
            break;
        }
    }
    cut
}

/// A wake-word detector as the listener sees it.
pub trait WakeWord {
    /// Scores one block; `Some(score)` when the wake word fires.
    fn process(&mut self, block: &[f32]) -> Option<f32>;
    /// Forgets everything heard (after a command).
    fn reset(&mut self);
}

impl WakeWord for crate::wake::WakeDetector {
    fn process(&mut self, block: &[f32]) -> Option<f32> {
        crate::wake::WakeDetector::process(self, block).map(|d| d.score)
    }

    fn reset(&mut self) {
        crate::wake::WakeDetector::reset(self);
    }
}

/// A spoken command, cut from the stream.
#[derive(Debug)]
pub struct Command {
    /// The clip: pre-roll, the command, [`TAIL`]. Wiped when dropped.
    pub audio: Samples,
    /// Audio time between the end of speech and the endpointer's decision (the trailing silence
    /// waited for): the part of end-of-speech → publish latency spent listening.
    pub silence_waited: Duration,
    /// Why it ended.
    pub reason: EndReason,
    /// Where in the stream the wake word fired (audio time since the start).
    pub woke_at: Duration,
}

/// What one block brought.
#[derive(Debug)]
pub enum Heard {
    /// Nothing to act on.
    Nothing,
    /// The wake word fired with this score: a command is being captured.
    Wake(f32),
    /// A command is complete.
    Command(Command),
    /// The wake word fired but nothing was said before the timeout.
    NoSpeech,
}

/// Where the listener is.
enum State {
    /// Waiting for the wake word.
    Waiting,
    /// Capturing a command.
    Capturing {
        /// The clip so far (pre-roll first).
        clip: Samples,
        /// Samples of pre-roll at the start of `clip`.
        pre: usize,
        /// Stream position of the wake.
        woke_at: u64,
    },
}

/// The listening state machine. See the module documentation.
pub struct Listener<W: WakeWord> {
    /// The wake-word detector.
    wake: W,
    /// Ends commands.
    endpointer: Endpointer,
    /// The last [`PRE_ROLL`] of audio while waiting.
    pre_roll: PreRoll,
    /// Waiting or capturing.
    state: State,
    /// Samples seen since the start of the stream.
    position: u64,
    /// Samples after a wake that the endpointer ignores (our own chime heard by the microphone).
    echo: usize,
    /// Blocks were held back ([`Listener::hold`]): the wake word starts afresh.
    held: bool,
}

impl<W: WakeWord> Listener<W> {
    /// A listener waiting for the wake word. `echo`: samples after each wake that are the wake
    /// chime coming back through the microphone (0 when no chime is played).
    pub fn new(wake: W, endpointer: Endpointer, echo: usize) -> Self {
        Listener {
            wake,
            endpointer,
            pre_roll: PreRoll::new(samples_in(PRE_ROLL)),
            state: State::Waiting,
            position: 0,
            echo,
            held: false,
        }
    }

    /// A block the microphone heard while Hearth's own speaker played (an answer, a ring): it
    /// goes to no detector, so Hearth never wakes on its own voice. While a command is being
    /// captured it is taken as usual (the wake chime's echo is the endpointer's business).
    pub fn hold(&mut self, block: &[f32]) -> Heard {
        if self.capturing() {
            return self.push(block);
        }
        self.position += block.len() as u64;
        self.held = true;
        Heard::Nothing
    }

    /// Starts capturing a command now, without the wake word (a ringing timer listens for
    /// "stop"). False when a command is being captured already.
    pub fn listen_now(&mut self) -> bool {
        if self.capturing() {
            return false;
        }
        self.endpointer.start();
        self.state = State::Capturing {
            clip: Samples::with_capacity(samples_in(Duration::from_secs(4))),
            pre: 0,
            woke_at: self.position,
        };
        true
    }

    /// True while a command is being captured.
    pub fn capturing(&self) -> bool {
        matches!(self.state, State::Capturing { .. })
    }

    /// Audio time since the start of the stream.
    pub fn position(&self) -> Duration {
        duration_of(self.position as usize)
    }

    /// Takes the next block of audio.
    pub fn push(&mut self, block: &[f32]) -> Heard {
        let start = self.position;
        self.position += block.len() as u64;
        match &mut self.state {
            State::Waiting => {
                if std::mem::take(&mut self.held) {
                    self.wake.reset();
                }
                self.pre_roll.push(block);
                self.endpointer.observe_background(block);
                let Some(score) = self.wake.process(block) else { return Heard::Nothing };
                let mut clip = Samples::with_capacity(samples_in(Duration::from_secs(12)));
                self.pre_roll.drain_into(&mut clip);
                if !self.endpointer.speech_now() {
                    clip.drain_front(clip.len().saturating_sub(samples_in(PRE_ROLL_AFTER_PAUSE)));
                }
                let pre = clip.len();
                self.endpointer.start();
                if self.echo > 0 {
                    self.endpointer.ignore(self.echo);
                }
                self.state = State::Capturing { clip, pre, woke_at: start + block.len() as u64 };
                Heard::Wake(score)
            }
            State::Capturing { clip, .. } => {
                clip.extend_from_slice(block);
                match self.endpointer.push(block) {
                    EndpointEvent::Continue => Heard::Nothing,
                    EndpointEvent::NoSpeech => {
                        self.finish();
                        Heard::NoSpeech
                    }
                    EndpointEvent::End { reason, speech_end } => Heard::Command(self.cut(reason, speech_end)),
                }
            }
        }
    }

    /// The stream has ended: a command still being captured is finished as it is.
    pub fn end_of_stream(&mut self) -> Option<Command> {
        let State::Capturing { clip, pre, .. } = &self.state else { return None };
        let spoken = clip.len() - *pre;
        Some(self.cut(EndReason::Silence, spoken))
    }

    /// Ends the command at `speech_end` (samples since the wake) and goes back to waiting.
    fn cut(&mut self, reason: EndReason, speech_end: usize) -> Command {
        let State::Capturing { mut clip, pre, woke_at } = std::mem::replace(&mut self.state, State::Waiting) else {
            unreachable!("cut is only called while capturing")
        };
        let heard = clip.len() - pre;
        let keep = (pre + speech_end + samples_in(TAIL)).min(clip.len());
        clip.truncate(keep);
        let tail_of_wake_word = wake_word_tail(&clip, pre + samples_in(WAKE_TAIL_SEARCH));
        clip.drain_front(tail_of_wake_word);
        self.wake.reset();
        Command {
            audio: clip,
            silence_waited: duration_of(heard.saturating_sub(speech_end)),
            reason,
            woke_at: duration_of(woke_at as usize),
        }
    }

    /// Drops the command being captured, if any (wiping it), and goes back to waiting.
    pub fn abort(&mut self) {
        if self.capturing() {
            self.finish();
        }
    }

    /// Drops the command being captured (wiping it) and goes back to waiting.
    fn finish(&mut self) {
        self.state = State::Waiting;
        self.wake.reset();
    }
}

/// The last few hundred milliseconds of audio, overwritten continuously; wiped when read out
/// and when dropped (it is a [`Samples`]).
struct PreRoll {
    /// Ring storage.
    ring: Samples,
    /// Next write position.
    head: usize,
    /// Valid samples (≤ capacity).
    filled: usize,
}

impl PreRoll {
    fn new(capacity: usize) -> Self {
        PreRoll { ring: Samples::zeros(capacity.max(1)), head: 0, filled: 0 }
    }

    fn push(&mut self, block: &[f32]) {
        let cap = self.ring.len();
        let block = &block[block.len().saturating_sub(cap)..];
        for &s in block {
            self.ring[self.head] = s;
            self.head = (self.head + 1) % cap;
        }
        self.filled = (self.filled + block.len()).min(cap);
    }

    /// Appends the held audio, oldest first, to `out` and wipes the ring.
    fn drain_into(&mut self, out: &mut Samples) {
        let cap = self.ring.len();
        let start = (self.head + cap - self.filled) % cap;
        if start + self.filled <= cap {
            out.extend_from_slice(&self.ring[start..start + self.filled]);
        } else {
            out.extend_from_slice(&self.ring[start..]);
            out.extend_from_slice(&self.ring[..self.head]);
        }
        self.ring.fill(0.0);
        self.head = 0;
        self.filled = 0;
    }

    #[cfg(test)]
    fn is_wiped(&self) -> bool {
        self.filled == 0 && self.ring.iter().all(|&s| s == 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::BLOCK_SAMPLES;
    use crate::endpoint::EndpointOptions;

    /// Fires once at the given block index (counting every processed block).
    struct Scripted {
        fire_at: usize,
        seen: usize,
        resets: usize,
    }

    impl WakeWord for Scripted {
        fn process(&mut self, _block: &[f32]) -> Option<f32> {
            self.seen += 1;
            (self.seen == self.fire_at + 1).then_some(0.9)
        }
        fn reset(&mut self) {
            self.resets += 1;
        }
    }

    fn options() -> EndpointOptions {
        EndpointOptions {
            end_silence: Duration::from_millis(700),
            max_command: Duration::from_secs(10),
            no_speech_timeout: Duration::from_secs(3),
        }
    }

    /// A vowel-like sound: 200 Hz fundamental with harmonics, amplitude `amp`.
    fn voiced(n: usize, amp: f32, offset: usize) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = (i + offset) as f32 / 16_000.0;
                amp * ((2.0 * std::f32::consts::PI * 200.0 * t).sin()
                    + 0.5 * (2.0 * std::f32::consts::PI * 400.0 * t).sin()
                    + 0.3 * (2.0 * std::f32::consts::PI * 800.0 * t).sin())
            })
            .collect()
    }

    fn quiet(n: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 - 0.5) * 0.002
            })
            .collect()
    }

    fn feed(listener: &mut Listener<Scripted>, audio: &[f32]) -> Vec<Heard> {
        audio.chunks(BLOCK_SAMPLES).map(|b| listener.push(b)).filter(|h| !matches!(h, Heard::Nothing)).collect()
    }

    #[test]
    fn pre_roll_keeps_the_latest_audio_in_order_and_wipes_itself() {
        let mut p = PreRoll::new(5);
        p.push(&[1.0, 2.0, 3.0]);
        p.push(&[4.0, 5.0, 6.0, 7.0]);
        let mut out = Samples::new();
        p.drain_into(&mut out);
        assert_eq!(&out[..], &[3.0, 4.0, 5.0, 6.0, 7.0]);
        assert!(p.is_wiped());
        p.push(&[8.0]);
        let mut out = Samples::new();
        p.drain_into(&mut out);
        assert_eq!(&out[..], &[8.0]);
        p.push(&[1.0; 12]);
        let mut out = Samples::new();
        p.drain_into(&mut out);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn a_command_after_the_wake_word_is_cut_at_the_end_of_speech() {
        let wake = Scripted { fire_at: 20, seen: 0, resets: 0 };
        let mut listener = Listener::new(wake, Endpointer::new(options()), 0);
        // 2 s of room noise (the wake fires in block 20 = 1.6 s), 0.4 s pause, 1.5 s of speech,
        // then 2 s of quiet.
        let mut audio = quiet(32_000, 1);
        audio.extend(quiet(6_400, 2));
        audio.extend(voiced(24_000, 0.3, 0));
        audio.extend(quiet(32_000, 3));
        let heard = feed(&mut listener, &audio);
        assert!(matches!(heard[0], Heard::Wake(s) if s > 0.5), "{heard:?}");
        let Heard::Command(command) = &heard[1] else { panic!("expected a command, got {heard:?}") };
        assert_eq!(heard.len(), 2, "{heard:?}");
        assert_eq!(command.reason, EndReason::Silence);
        assert_eq!(command.woke_at, duration_of(21 * BLOCK_SAMPLES));
        // The clip: the short pre-roll (quiet at the wake) + (0.32 s noise + 0.4 s pause + 1.5 s speech) + tail, give or take
        // the endpointer's frame.
        let expected =
            samples_in(PRE_ROLL_AFTER_PAUSE) + (32_000 - 21 * BLOCK_SAMPLES) + 6_400 + 24_000 + samples_in(TAIL);
        let got = command.audio.len();
        assert!(got.abs_diff(expected) < 4_000, "clip of {got} samples, expected about {expected}");
        let waited = command.silence_waited.as_secs_f32();
        assert!((0.5..1.0).contains(&waited), "waited {waited} s of silence");
        assert!(!listener.capturing());
        assert_eq!(listener.wake.resets, 1);
    }

    #[test]
    fn the_end_of_the_wake_word_before_a_pause_is_cut() {
        // 0.3 s "…vis", 0.4 s pause, 1 s command, in quiet room noise.
        let mut clip = voiced(4_800, 0.3, 0);
        clip.extend(quiet(6_400, 6));
        clip.extend(voiced(16_000, 0.3, 0));
        clip.extend(quiet(3_200, 7));
        let cut = wake_word_tail(&clip, 9_600 + 6_400);
        assert!((7_600..8_800).contains(&cut), "cut {cut}");
        // In one breath: nothing to cut.
        let mut breath = voiced(4_800, 0.3, 0);
        breath.extend(voiced(16_000, 0.25, 4_800));
        breath.extend(quiet(3_200, 8));
        assert_eq!(wake_word_tail(&breath, 9_600 + 6_400), 0);
        // A pause only later (between words of the command) is not the wake word's.
        let mut late = quiet(1_600, 9);
        late.extend(voiced(16_000, 0.3, 0));
        late.extend(quiet(4_800, 10));
        late.extend(voiced(8_000, 0.3, 0));
        assert_eq!(wake_word_tail(&late, 1_600 + 6_400), 0);
    }

    #[test]
    fn a_wake_with_nothing_said_times_out() {
        let wake = Scripted { fire_at: 5, seen: 0, resets: 0 };
        let mut listener = Listener::new(wake, Endpointer::new(options()), 0);
        let heard = feed(&mut listener, &quiet(16_000 * 6, 4));
        assert!(matches!(heard[..], [Heard::Wake(_), Heard::NoSpeech]), "{heard:?}");
        assert!(!listener.capturing());
    }

    #[test]
    fn end_of_stream_finishes_a_command_in_progress() {
        let wake = Scripted { fire_at: 2, seen: 0, resets: 0 };
        let mut listener = Listener::new(wake, Endpointer::new(options()), 0);
        let mut audio = quiet(4_000, 5);
        audio.extend(voiced(16_000, 0.3, 0));
        let heard = feed(&mut listener, &audio);
        assert!(matches!(heard[..], [Heard::Wake(_)]), "{heard:?}");
        let command = listener.end_of_stream().expect("the command in progress");
        assert!(command.audio.len() > 16_000);
        assert!(listener.end_of_stream().is_none());
    }
}
