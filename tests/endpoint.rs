//! Endpointing on real synthesised speech: espeak-ng voices and Piper say "hey jarvis", pause,
//! say a command, then fall silent — clean, and in white and pink noise at 20, 15 and 10 dB
//! SNR. Each file is read through `WavSource` in `BLOCK_SAMPLES` blocks, as the pipeline reads
//! a capture source: `observe_background` until the wake word "fires", `start`, then `push`.
//!
//! SNR here is the noise against the speech itself (the RMS of the wake word and the command
//! with their own leading and trailing silence trimmed), not against the whole file with its
//! silences (as `support::mix_noise` measures it), so the noise is as loud as the SNR says
//! while someone speaks. The noise covers the whole file, background included.
//!
//! Run with `--nocapture` to see the measured errors per condition.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hearth::audio::{BLOCK_SAMPLES, SAMPLE_RATE, Source, WavSource};
use hearth::endpoint::{EndReason, EndpointEvent, EndpointOptions, Endpointer};
use support::Noise;

const RATE: usize = SAMPLE_RATE as usize;
/// Background heard before the wake word.
const LEAD_SECS: f64 = 1.5;
/// Silence after the command (more than end_silence plus a block).
const TAIL_SECS: f64 = 2.5;
/// How long after the end of the wake word it "fires" when a pause follows.
const WAKE_LATENCY_SECS: f64 = 0.1;
/// Allowed error of `speech_end`.
const SPEECH_END_TOLERANCE_MS: f64 = 250.0;
/// Allowed lateness of the decision beyond `end_silence`.
const DECISION_SLACK_MS: f64 = 200.0;

fn options() -> EndpointOptions {
    EndpointOptions {
        end_silence: Duration::from_millis(700),
        max_command: Duration::from_secs(10),
        no_speech_timeout: Duration::from_secs(4),
    }
}

fn samples(secs: f64) -> usize {
    (secs * RATE as f64).round() as usize
}

fn ms(samples: f64) -> f64 {
    samples * 1000.0 / RATE as f64
}

// ---------------------------------------------------------------------------------------------
// Speech

/// Who speaks.
#[derive(Clone, Copy, Debug)]
enum Voice {
    /// espeak-ng with a voice and a speed in words per minute.
    Espeak(&'static str, u32),
    /// Piper (en_US-joe-medium).
    Piper,
}

impl Voice {
    fn label(self) -> String {
        match self {
            Voice::Espeak(v, wpm) => format!("{v}@{wpm}"),
            Voice::Piper => "piper".to_owned(),
        }
    }

    /// `text` spoken, trimmed to the speech.
    fn say(self, text: &str, dir: &Path) -> Vec<f32> {
        let out = dir.join("say.wav");
        match self {
            Voice::Espeak(voice, wpm) => {
                support::espeak(text, voice, wpm, &out);
            }
            Voice::Piper => {
                support::piper(text, &out);
            }
        }
        let (spec, samples) = support::read_wav(&out);
        assert_eq!((spec.sample_rate, spec.channels), (SAMPLE_RATE, 1));
        trim(&samples).to_vec()
    }
}

/// The part of `x` from the first to the last 10 ms frame louder than 40 dB below the loudest
/// frame: the speech without the synthesiser's own silence. Its end is the true end of speech.
fn trim(x: &[f32]) -> &[f32] {
    let frame = RATE / 100;
    let energy: Vec<f64> = x.chunks(frame).map(|c| c.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()).collect();
    let peak = energy.iter().cloned().fold(0.0, f64::max);
    let loud = |e: &f64| *e > peak * 1e-4;
    let first = energy.iter().position(loud).expect("speech is not silent");
    let last = energy.iter().rposition(loud).expect("speech is not silent");
    &x[first * frame..((last + 1) * frame).min(x.len())]
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// `clean` plus noise of `kind` at `snr_db` below `speech_rms` (scaled down as a whole if the
/// sum would clip).
fn with_noise(clean: &[f32], speech_rms: f64, kind: Noise, snr_db: f64, seed: u64) -> Vec<f32> {
    let noise = support::noise_samples(kind, clean.len(), speech_rms / 10f64.powf(snr_db / 20.0), seed);
    let mut mix: Vec<f32> = clean.iter().zip(&noise).map(|(a, b)| a + b).collect();
    let peak = mix.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.999 {
        mix.iter_mut().for_each(|v| *v *= 0.999 / peak);
    }
    mix
}

// ---------------------------------------------------------------------------------------------
// Running the endpointer over a file

/// What the endpointer said, and after how many samples since `start` it said it.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    event: EndpointEvent,
    decided_at: usize,
}

/// Writes `audio` as a 16-bit WAV and feeds it back through `WavSource` in `BLOCK_SAMPLES`
/// blocks: background before sample `start_at`, command after (the block that straddles it is
/// split there).
fn run_file(audio: &[f32], start_at: usize, dir: &Path) -> Outcome {
    let path = support::write_wav(&dir.join("case.wav"), audio, SAMPLE_RATE, 1);
    let mut source = WavSource::open(&path).expect("open the WAV");
    let mut ep = Endpointer::new(options());
    let mut block = vec![0.0f32; BLOCK_SAMPLES];
    let mut pos: usize = 0;
    let mut started = false;
    loop {
        let n = source.read(&mut block).expect("read the WAV");
        if n == 0 {
            return Outcome { event: EndpointEvent::Continue, decided_at: pos.saturating_sub(start_at) };
        }
        let mut piece = &block[..n];
        if !started {
            let background = (start_at - pos).min(n);
            ep.observe_background(&piece[..background]);
            pos += background;
            piece = &piece[background..];
            if pos < start_at {
                continue;
            }
            ep.start();
            started = true;
        }
        pos += piece.len();
        let event = ep.push(piece);
        if event != EndpointEvent::Continue {
            return Outcome { event, decided_at: pos - start_at };
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The measurements

/// Noise conditions: none, then white and pink at 20, 15 and 10 dB SNR.
const CONDITIONS: &[Option<(Noise, f64)>] = &[
    None,
    Some((Noise::White, 20.0)),
    Some((Noise::White, 15.0)),
    Some((Noise::White, 10.0)),
    Some((Noise::Pink, 20.0)),
    Some((Noise::Pink, 15.0)),
    Some((Noise::Pink, 10.0)),
];

fn condition_label(condition: Option<(Noise, f64)>) -> String {
    match condition {
        None => "clean".to_owned(),
        Some((Noise::White, snr)) => format!("white {snr} dB"),
        Some((Noise::Pink, snr)) => format!("pink {snr} dB"),
    }
}

/// Errors in ms per condition, printed as a table.
#[derive(Default)]
struct Table {
    /// (speech_end error, decision delay after the true end) per condition.
    rows: BTreeMap<String, Vec<(f64, f64)>>,
    /// The case with the largest speech_end error per condition.
    worst: BTreeMap<String, (f64, String)>,
}

impl Table {
    fn add(&mut self, condition: &str, error_ms: f64, delay_ms: f64, what: &str) {
        self.rows.entry(condition.to_owned()).or_default().push((error_ms, delay_ms));
        let worst = self.worst.entry(condition.to_owned()).or_insert((0.0, String::new()));
        if error_ms.abs() >= worst.0.abs() {
            *worst = (error_ms, what.to_owned());
        }
    }

    fn print(&self, title: &str) {
        eprintln!("\n{title}");
        eprintln!(
            "{:<14} {:>4}  {:>26}  {:>26}",
            "condition", "n", "speech_end error ms", "decision after true end ms"
        );
        eprintln!(
            "{:<14} {:>4}  {:>8} {:>8} {:>8}  {:>8} {:>8} {:>8}",
            "", "", "mean", "min", "max", "mean", "min", "max"
        );
        for (condition, v) in &self.rows {
            let stat = |f: fn(&(f64, f64)) -> f64| {
                let xs: Vec<f64> = v.iter().map(f).collect();
                let mean = xs.iter().sum::<f64>() / xs.len() as f64;
                (
                    mean,
                    xs.iter().cloned().fold(f64::INFINITY, f64::min),
                    xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                )
            };
            let (em, emin, emax) = stat(|r| r.0);
            let (dm, dmin, dmax) = stat(|r| r.1);
            eprintln!(
                "{condition:<14} {:>4}  {em:>8.0} {emin:>8.0} {emax:>8.0}  {dm:>8.0} {dmin:>8.0} {dmax:>8.0}",
                v.len()
            );
        }
        for (condition, (error, what)) in &self.worst {
            eprintln!("largest error, {condition}: {error:.0} ms ({what})");
        }
    }
}

/// "hey jarvis", a pause (none = the same breath), a command, silence; in every condition.
#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn commands_end_on_trailing_silence() {
    let dir = support::tempdir();
    let voices: &[(Voice, &[&str])] = &[
        (Voice::Espeak("en-us", 175), &["turn on the kitchen light", "what time is it"]),
        (Voice::Espeak("en-gb+m3", 140), &["set the thermostat to twenty one degrees", "cancel the timer"]),
        (Voice::Espeak("en-us+f3", 210), &["turn off the living room lights", "set a timer for five minutes"]),
        (Voice::Espeak("en-gb-x-rp", 175), &["dim the hallway light", "what is the temperature in the living room"]),
        (Voice::Espeak("en-us+m7", 160), &["switch off the fan", "play some music"]),
        (Voice::Espeak("de+f2", 175), &["schalte das Licht in der Küche ein", "wie spät ist es"]),
        (Voice::Piper, &["turn on the kitchen light", "set a timer for five minutes", "what time is it"]),
    ];
    let pauses = [0.3, 0.6, 1.0, 0.0];

    let mut table = Table::default();
    let mut failures = Vec::new();
    let mut case = 0usize;
    for &(voice, commands) in voices {
        let wake = voice.say("hey jarvis", dir.path());
        for &command_text in commands {
            let command = voice.say(command_text, dir.path());
            let pause = pauses[case % pauses.len()];
            case += 1;
            let clean = [
                &vec![0.0; samples(LEAD_SECS)][..],
                &wake,
                &vec![0.0; samples(pause)],
                &command,
                &vec![0.0; samples(TAIL_SECS)],
            ]
            .concat();
            let wake_end = samples(LEAD_SECS) + wake.len();
            let start_at = if pause > 0.0 { wake_end + samples(WAKE_LATENCY_SECS) } else { wake_end };
            let true_end = wake_end + samples(pause) + command.len() - start_at;
            let speech_rms = rms(&[&wake[..], &command].concat());

            for (k, &condition) in CONDITIONS.iter().enumerate() {
                let label = condition_label(condition);
                let audio = match condition {
                    None => clean.clone(),
                    Some((kind, snr)) => with_noise(&clean, speech_rms, kind, snr, 1_000 + (case * 16 + k) as u64),
                };
                let outcome = run_file(&audio, start_at, dir.path());
                let what = format!("{} {command_text:?} pause {pause} s, {label}: {outcome:?}", voice.label());
                let EndpointEvent::End { reason, speech_end } = outcome.event else {
                    failures.push(format!("{what}: no end (true end {true_end})"));
                    continue;
                };
                let error = ms(speech_end as f64 - true_end as f64);
                let delay = ms(outcome.decided_at as f64 - true_end as f64);
                table.add(&label, error, delay, &what);
                if reason != EndReason::Silence {
                    failures.push(format!("{what}: ended by {reason:?}"));
                }
                if error.abs() > SPEECH_END_TOLERANCE_MS {
                    failures.push(format!("{what}: speech_end off by {error:.0} ms"));
                }
                if !(0.0..=700.0 + DECISION_SLACK_MS).contains(&delay) {
                    failures.push(format!("{what}: decided {delay:.0} ms after the true end"));
                }
            }
        }
    }
    table.print("Endpointing: speech_end error and decision time per condition (end_silence 700 ms)");
    assert!(table.rows.values().map(Vec::len).sum::<usize>() >= 6 * 2 * CONDITIONS.len(), "too few cases ran");
    assert!(failures.is_empty(), "{} of the cases failed:\n{}", failures.len(), failures.join("\n"));
}

/// "hey jarvis" and "stop" in one breath (no pause; the wake word fires as it ends): one short
/// word carried over the wake word is provisional and ends after the longer 1.5 s silence (see
/// the endpoint module docs).
#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn one_word_in_the_same_breath() {
    let dir = support::tempdir();
    for voice in [Voice::Espeak("en-us", 175), Voice::Espeak("en-gb+m3", 140), Voice::Piper] {
        let wake = voice.say("hey jarvis", dir.path());
        let stop = voice.say("stop", dir.path());
        let clean = [&vec![0.0; samples(LEAD_SECS)][..], &wake, &stop, &vec![0.0; samples(TAIL_SECS)]].concat();
        let start_at = samples(LEAD_SECS) + wake.len();
        let true_end = stop.len();
        let speech_rms = rms(&[&wake[..], &stop].concat());
        for (k, &condition) in CONDITIONS.iter().enumerate() {
            let audio = match condition {
                None => clean.clone(),
                Some((kind, snr)) => with_noise(&clean, speech_rms, kind, snr, 100 + k as u64),
            };
            let outcome = run_file(&audio, start_at, dir.path());
            let what = format!("{} {}: {outcome:?}, true end {true_end}", voice.label(), condition_label(condition));
            let EndpointEvent::End { reason: EndReason::Silence, speech_end } = outcome.event else {
                panic!("{what}");
            };
            let error = ms(speech_end as f64 - true_end as f64);
            let delay = ms(outcome.decided_at as f64 - true_end as f64);
            eprintln!("\"hey jarvis\" + \"stop\", {what}: speech_end error {error:.0} ms, decided after {delay:.0} ms");
            assert!(error.abs() <= SPEECH_END_TOLERANCE_MS, "{what}");
            assert!(delay > 0.0 && delay <= 1_500.0 + DECISION_SLACK_MS, "{what}");
        }
    }
}

/// The wake word, then nobody speaks: noise only (or silence) after start gives NoSpeech at
/// no_speech_timeout. Also noise with no wake word at all.
#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn noise_after_the_wake_word_gives_no_speech() {
    let dir = support::tempdir();
    let wake = Voice::Espeak("en-us", 175).say("hey jarvis", dir.path());
    let clean = [&vec![0.0; samples(LEAD_SECS)][..], &wake, &vec![0.0; samples(6.0)]].concat();
    let start_at = samples(LEAD_SECS) + wake.len() + samples(WAKE_LATENCY_SECS);
    for (k, &condition) in CONDITIONS.iter().enumerate() {
        let audio = match condition {
            None => clean.clone(),
            Some((kind, snr)) => with_noise(&clean, rms(&wake), kind, snr, 200 + k as u64),
        };
        let outcome = run_file(&audio, start_at, dir.path());
        assert_eq!(outcome.event, EndpointEvent::NoSpeech, "{}: {outcome:?}", condition_label(condition));
        assert!(outcome.decided_at >= samples(4.0) && outcome.decided_at < samples(4.0) + BLOCK_SAMPLES);
    }
    for kind in [Noise::White, Noise::Pink] {
        for level in [0.001, 0.01, 0.1] {
            let noise = support::noise_samples(kind, samples(8.0), level, 300);
            for start_at in [0, samples(LEAD_SECS)] {
                let outcome = run_file(&noise, start_at, dir.path());
                assert_eq!(outcome.event, EndpointEvent::NoSpeech, "{kind:?} rms {level}: {outcome:?}");
            }
        }
    }
}

/// Someone who never stops talking — one voice, or two at once — is cut at max_command.
#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn endless_speech_reaches_max_length() {
    let dir = support::tempdir();
    let story = "the quick brown fox jumps over the lazy dog while the kitchen light stays on and the \
                 radio plays music in the living room all afternoon, and nobody turns it off because \
                 everyone is busy cooking dinner for the guests who will arrive at seven o'clock";
    let other = "yesterday we went to the market and bought apples, pears and a large pumpkin, then we \
                 walked home through the park where children were playing football near the old \
                 fountain until it started raining and everybody ran for shelter under the trees";
    let mut talks: Vec<(String, Vec<f32>)> = Vec::new();
    let a = Voice::Espeak("en-us", 175).say(story, dir.path());
    let b = Voice::Espeak("en-gb+f3", 190).say(other, dir.path());
    let n = a.len().min(b.len());
    let babble: Vec<f32> = a[..n].iter().zip(&b[..n]).map(|(x, y)| 0.6 * (x + y)).collect();
    talks.push(("en-us".into(), a));
    talks.push(("en-gb+f3".into(), b));
    talks.push(("two voices at once".into(), babble));
    talks.push(("piper".into(), Voice::Piper.say(story, dir.path())));
    for (label, talk) in &talks {
        assert!(talk.len() > samples(11.0), "{label}: the talk must outlast max_command");
        let clean = [&vec![0.0; samples(LEAD_SECS)][..], talk].concat();
        for condition in [None, Some((Noise::Pink, 15.0)), Some((Noise::White, 10.0))] {
            let audio = match condition {
                None => clean.clone(),
                Some((kind, snr)) => with_noise(&clean, rms(talk), kind, snr, 400),
            };
            let outcome = run_file(&audio, samples(LEAD_SECS), dir.path());
            let what = format!("{label}, {}: {outcome:?}", condition_label(condition));
            let EndpointEvent::End { reason: EndReason::MaxLength, speech_end } = outcome.event else {
                panic!("{what}");
            };
            assert!(
                outcome.decided_at >= samples(10.0) && outcome.decided_at < samples(10.0) + BLOCK_SAMPLES,
                "{what}"
            );
            assert!(speech_end > samples(9.0) && speech_end <= samples(10.0), "{what}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// No allocation per block

/// Counts allocations made on the current thread while counting is switched on.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the thread-locals are
// const-initialised `Cell`s without destructors, so touching them never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn no_allocation_per_block() {
    let dir = support::tempdir();
    let voice = Voice::Espeak("en-us", 175);
    let wake = voice.say("hey jarvis", dir.path());
    let command = voice.say("turn on the kitchen light", dir.path());
    let clean =
        [&vec![0.0; samples(LEAD_SECS)][..], &wake, &vec![0.0; samples(0.5)], &command, &vec![0.0; samples(3.0)]]
            .concat();
    let audio = with_noise(&clean, rms(&command), Noise::Pink, 15.0, 500);
    let start_at = samples(LEAD_SECS) + wake.len() + samples(WAKE_LATENCY_SECS);

    let mut ep = Endpointer::new(options());
    COUNTING.with(|c| c.set(true));
    for block in audio[..start_at].chunks(BLOCK_SAMPLES) {
        ep.observe_background(block);
    }
    ep.start();
    let mut event = EndpointEvent::Continue;
    for block in audio[start_at..].chunks(BLOCK_SAMPLES) {
        event = ep.push(block);
        if event != EndpointEvent::Continue {
            break;
        }
    }
    COUNTING.with(|c| c.set(false));
    assert!(matches!(event, EndpointEvent::End { reason: EndReason::Silence, .. }), "{event:?}");
    assert_eq!(ALLOCATIONS.with(Cell::get), 0, "the endpointer allocated while processing blocks");
}
