//! The real microphone path — cpal's ALSA callback, the lock-free ring, the resampler — on a
//! machine without a sound card, with synthesised speech played into a fake ALSA capture device
//! (`support::alsa`). Each capture runs in a child process (this test binary, re-executed),
//! because ALSA reads its configuration once per process.
//!
//! What is checked, against the speech that was fed: where it lands, its gain (the stereo
//! downmix), how little differs (signal-to-error ratio), silence around it, no overruns, and that
//! capture runs in real time. With the tiny.en model present, the captured audio is also
//! transcribed and must give the same text as the original file.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth::audio::{BLOCK_SAMPLES, LiveMicrophone, Microphone, SAMPLE_RATE, Samples, Source};
use hearth::config::SttLanguage;
use hearth::measure::word_errors;
use hearth::stt::{Decoding, SttOptions, Transcriber};
use support::alsa::{FakeMic, Layout, NATIVE_RATE};

/// Environment of the child: the device to open (its presence makes the child run).
const CHILD_DEVICE: &str = "HEARTH_CAPTURE_CHILD_DEVICE";
/// Environment of the child: seconds of 16 kHz audio to capture.
const CHILD_SECONDS: &str = "HEARTH_CAPTURE_CHILD_SECONDS";
/// Environment of the child: where to write what it captured (in the test's temporary folder).
const CHILD_OUT: &str = "HEARTH_CAPTURE_CHILD_OUT";
/// Environment of the child: when set, capture through a `LiveMicrophone` with this stall
/// timeout in ms (and log to standard error).
const CHILD_LIVE_STALL_MS: &str = "HEARTH_CAPTURE_CHILD_LIVE_STALL_MS";
/// Prefix of the child's report lines on standard output.
const REPORT: &str = "HEARTH-CAPTURE";

// ---------------------------------------------------------------------------------------------
// The child

/// The child process: opens the microphone, reports its native format, captures, writes the
/// captured 16 kHz audio as a WAV for the parent to analyse, and reports counters and timing.
/// Does nothing unless started by [`capture_in_child`].
#[test]
#[ignore = "child process of the capture tests; does nothing when run on its own"]
fn capture_child() {
    let Ok(device) = std::env::var(CHILD_DEVICE) else {
        return;
    };
    let seconds: f64 = std::env::var(CHILD_SECONDS).unwrap().parse().unwrap();
    let out = std::path::PathBuf::from(std::env::var_os(CHILD_OUT).unwrap());

    let live_stall = std::env::var(CHILD_LIVE_STALL_MS).ok().map(|ms| Duration::from_millis(ms.parse().unwrap()));

    let cpu_start = cpu_ms();
    let mut mic = match live_stall {
        None => ChildMic::Plain(Microphone::open(&device).unwrap_or_else(|e| panic!("open {device}: {e}"))),
        Some(stall) => {
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .init();
            let mut live = LiveMicrophone::open(&device).unwrap_or_else(|e| panic!("open {device}: {e}"));
            live.set_stall_timeout(stall);
            ChildMic::Live(live)
        }
    };
    match &mic {
        ChildMic::Plain(m) => println!(
            "{REPORT} open rate={} channels={} format={}",
            m.native_sample_rate(),
            m.native_channels(),
            m.native_sample_format()
        ),
        ChildMic::Live(_) => println!("{REPORT} open rate=0 channels=0 format=live"),
    }
    let total = (seconds * f64::from(SAMPLE_RATE)) as usize;
    let mut captured = Samples::with_capacity(total);
    let mut block = Samples::zeros(BLOCK_SAMPLES);
    let start = Instant::now();
    // When the first second of audio was complete: the pace is measured from there, after the
    // backlog the feeder wrote before the stream started.
    let mut after_first_second = None;
    while captured.len() < total {
        let n = match &mut mic {
            ChildMic::Plain(m) => m.read(&mut block),
            ChildMic::Live(m) => m.read(&mut block),
        }
        .unwrap_or_else(|e| panic!("read: {e}"));
        assert_eq!(n, block.len(), "a microphone never ends");
        captured.extend_from_slice(&block[..n.min(total - captured.len())]);
        if after_first_second.is_none() && captured.len() >= SAMPLE_RATE as usize {
            after_first_second = Some((captured.len(), start.elapsed()));
        }
    }
    let elapsed = start.elapsed();
    let (mark_len, mark_time) = after_first_second.unwrap();
    let paced_secs = (captured.len() - mark_len) as f64 / f64::from(SAMPLE_RATE);
    let (overruns, dropped, xruns, reconnects) = match &mic {
        ChildMic::Plain(m) => (m.overruns(), m.dropped_frames(), m.xruns(), 0),
        ChildMic::Live(m) => (m.overruns(), 0, 0, m.reconnects()),
    };
    println!(
        "{REPORT} done overruns={overruns} dropped={dropped} xruns={xruns} reconnects={reconnects} \
         paced_audio_ms={:.0} paced_wall_ms={:.0} cpu_ms={}",
        paced_secs * 1000.0,
        (elapsed - mark_time).as_secs_f64() * 1000.0,
        cpu_ms() - cpu_start,
    );
    drop(mic);
    support::write_wav(&out, &captured, SAMPLE_RATE, 1);
}

/// The child's microphone: a plain one, or one that survives unplugging.
enum ChildMic {
    Plain(Microphone),
    Live(LiveMicrophone),
}

/// CPU time (user + system) this process has used, in ms, from /proc/self/stat.
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 of `rest`; in clock
    // ticks, 100 per second on Linux.
    (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) * 10
}

// ---------------------------------------------------------------------------------------------
// The parent side

/// What the child reported.
#[derive(Debug, Default)]
struct ChildReport {
    rate: u32,
    channels: u16,
    format: String,
    overruns: u64,
    dropped: u64,
    xruns: u64,
    reconnects: u64,
    paced_audio_ms: f64,
    paced_wall_ms: f64,
    cpu_ms: u64,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Runs [`capture_child`] in a child process capturing `seconds` from `device` on `mic`; calls
/// `on_open` once the child's microphone is open (to start playing). Returns the report and
/// the captured 16 kHz audio.
fn capture_in_child(
    mic: &FakeMic,
    device: &str,
    seconds: f64,
    live_stall: Option<Duration>,
    dir: &Path,
    on_open: impl FnOnce(),
) -> (ChildReport, Vec<f32>, String) {
    let out = dir.join("captured.wav");
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "capture_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DEVICE, device)
        .env(CHILD_SECONDS, seconds.to_string())
        .env(CHILD_OUT, &out)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(stall) = live_stall {
        cmd.env(CHILD_LIVE_STALL_MS, stall.as_millis().to_string());
    }
    mic.attach(&mut cmd);
    let mut child = cmd.spawn().expect("start the capture child");
    let mut stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut report = ChildReport::default();
    let mut on_open = Some(on_open);
    let mut transcript = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        transcript.push_str(&line);
        transcript.push('\n');
        // The test harness may have printed "test capture_child ... " before on the same line.
        let line = line.find(REPORT).map_or("", |at| &line[at..]);
        if let Some(rest) = line.strip_prefix(&format!("{REPORT} open ")) {
            report.rate = field(rest, "rate").parse().unwrap();
            report.channels = field(rest, "channels").parse().unwrap();
            report.format = field(rest, "format").to_owned();
            if let Some(f) = on_open.take() {
                f();
            }
        } else if let Some(rest) = line.strip_prefix(&format!("{REPORT} done ")) {
            report.overruns = field(rest, "overruns").parse().unwrap();
            report.dropped = field(rest, "dropped").parse().unwrap();
            report.xruns = field(rest, "xruns").parse().unwrap();
            report.reconnects = field(rest, "reconnects").parse().unwrap();
            report.paced_audio_ms = field(rest, "paced_audio_ms").parse().unwrap();
            report.paced_wall_ms = field(rest, "paced_wall_ms").parse().unwrap();
            report.cpu_ms = field(rest, "cpu_ms").parse().unwrap();
        }
    }
    let status = child.wait().unwrap();
    let stderr = stderr_reader.join().unwrap();
    assert!(status.success(), "capture child failed ({status}):\n{transcript}\n{stderr}");
    assert!(!report.format.is_empty(), "the child never reported an open microphone:\n{transcript}\n{stderr}");
    let (spec, captured) = support::read_wav(&out);
    assert_eq!((spec.sample_rate, spec.channels), (SAMPLE_RATE, 1));
    (report, captured, stderr)
}

// ---------------------------------------------------------------------------------------------
// Analysis

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// The lag at which `pattern` best matches `signal` (normalised cross-correlation): a coarse
/// search on every 4th sample, then every lag around the best coarse one.
fn best_lag(signal: &[f32], pattern: &[f32]) -> usize {
    assert!(signal.len() > pattern.len(), "captured audio shorter than the speech");
    let max_lag = signal.len() - pattern.len();
    let decimate = |x: &[f32]| x.iter().step_by(4).copied().collect::<Vec<f32>>();
    let (s4, p4) = (decimate(signal), decimate(pattern));
    let score = |s: &[f32], p: &[f32], lag: usize| {
        let window = &s[lag..lag + p.len()];
        let energy = dot(window, window);
        if energy == 0.0 { 0.0 } else { dot(window, p) / energy.sqrt() }
    };
    let coarse =
        (0..=(s4.len() - p4.len())).max_by(|&a, &b| score(&s4, &p4, a).total_cmp(&score(&s4, &p4, b))).unwrap();
    let lo = (coarse * 4).saturating_sub(8);
    let hi = (coarse * 4 + 8).min(max_lag);
    (lo..=hi).max_by(|&a, &b| score(signal, pattern, a).total_cmp(&score(signal, pattern, b))).unwrap()
}

/// How the captured audio compares with the speech that was played.
#[derive(Debug)]
struct Comparison {
    /// Where the speech starts in the capture, in samples.
    lag: usize,
    /// Least-squares gain from the speech to the capture.
    gain: f64,
    /// Normalised correlation at `lag`.
    correlation: f64,
    /// Speech energy over the energy of what differs (after the gain), in dB.
    snr_db: f64,
    /// RMS of the capture before the speech and after it (skipping 20 ms at each edge, where
    /// the resampler's filter rings).
    rms_before: f64,
    rms_after: f64,
}

fn compare(captured: &[f32], speech: &[f32]) -> Comparison {
    let lag = best_lag(captured, speech);
    let window = &captured[lag..lag + speech.len()];
    let (xy, xx, yy) = (dot(speech, window), dot(speech, speech), dot(window, window));
    let gain = xy / xx;
    let error: f64 = speech
        .iter()
        .zip(window)
        .map(|(&x, &y)| {
            let e = f64::from(y) - gain * f64::from(x);
            e * e
        })
        .sum();
    let edge = (SAMPLE_RATE / 50) as usize;
    let before = &captured[..lag.saturating_sub(edge)];
    let after = &captured[(lag + speech.len() + edge).min(captured.len())..];
    Comparison {
        lag,
        gain,
        correlation: xy / (xx * yy).sqrt(),
        snr_db: 10.0 * (gain * gain * xx / error).log10(),
        rms_before: support::rms(before),
        rms_after: support::rms(after),
    }
}

/// Interleaves `channels` copies of mono `x`, channel `c` scaled by `gains[c]`.
fn interleave(x: &[f32], gains: &[f32]) -> Vec<f32> {
    x.iter().flat_map(|&s| gains.iter().map(move |&g| s * g)).collect()
}

/// Speech at 16 kHz mono (the reference) and the same speech at the fake microphone's rate.
fn speech(dir: &Path, text: &str) -> (Vec<f32>, Vec<f32>) {
    let wav16 = support::espeak(text, "en-us", 175, &dir.join("speech.wav"));
    let wav48 = support::sox_convert(&wav16, &dir.join("speech-48k.wav"), NATIVE_RATE, 1, 32);
    (support::read_wav(&wav16).1, support::read_wav(&wav48).1)
}

/// Captures `text` spoken into a fake microphone with `layout` and per-channel `gains`, and
/// checks it against what was played. Returns the comparison and the capture.
fn capture_speech(layout: Layout, gains: &[f32], text: &str) -> (Comparison, Vec<f32>, Vec<f32>) {
    let dir = support::tempdir();
    let (reference, native) = speech(dir.path(), text);
    let mic = FakeMic::with_layout(dir.path(), layout);
    let fed = interleave(&native, gains);
    let speech_secs = reference.len() as f64 / f64::from(SAMPLE_RATE);
    let seconds = speech_secs + 3.0;
    let (report, captured, _) =
        capture_in_child(&mic, mic.device(), seconds, None, dir.path(), || mic.play_samples(&fed));
    eprintln!("{layout:?}: {report:?}");
    assert_eq!((report.rate, report.channels, report.format.as_str()), (NATIVE_RATE, layout.channels(), "f32"));
    assert_eq!((report.overruns, report.dropped, report.xruns), (0, 0, 0), "{report:?}");
    // Real time: after the first second (which includes the backlog written before the child
    // started reading), audio arrives at the rate it is played.
    let pace = report.paced_audio_ms / report.paced_wall_ms;
    assert!((0.95..1.05).contains(&pace), "captured {:.3}x real time: {report:?}", pace);
    let cmp = compare(&captured, &reference);
    eprintln!("{layout:?}: {cmp:?}");
    // Queued as soon as the child's microphone was open, behind at most the ~0.1 s the
    // feeder's socket holds.
    assert!(cmp.lag < SAMPLE_RATE as usize / 2, "the speech starts {} ms into the capture", cmp.lag / 16);
    (cmp, reference, captured)
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn stereo_speech_is_captured_through_cpal_exactly() {
    let (cmp, reference, captured) = capture_speech(Layout::Stereo, &[0.9, 0.5], "turn on the kitchen light");
    // The downmix averages the channels: (0.9 + 0.5) / 2.
    assert!((cmp.gain - 0.7).abs() < 0.01, "{cmp:?}");
    assert!(cmp.correlation > 0.999, "{cmp:?}");
    assert!(cmp.snr_db > 30.0, "{cmp:?}");
    assert!(cmp.rms_before < 1e-4 && cmp.rms_after < 1e-4, "{cmp:?}");

    // Whisper hears the same words in the capture as in the file.
    let model = support::model("ggml-tiny.en.bin");
    let options = SttOptions { model, language: SttLanguage::EN, threads: 1, decoding: Decoding::Tuned };
    let mut whisper = Transcriber::load(&options).expect("model loads");
    let original = whisper.transcribe(&reference).expect("whisper runs").text;
    let heard = whisper.transcribe(&captured).expect("whisper runs").text;
    eprintln!("original: {original:?}, captured: {heard:?}");
    assert_eq!(heard, original);
    assert_eq!(word_errors("turn on the kitchen light", &heard).errors, 0, "{heard:?}");
}

#[test]
fn mono_speech_is_captured_through_cpal_exactly() {
    let (cmp, _, _) = capture_speech(Layout::Mono, &[0.8], "set the thermostat to twenty one degrees");
    assert!((cmp.gain - 0.8).abs() < 0.01, "{cmp:?}");
    assert!(cmp.correlation > 0.999, "{cmp:?}");
    assert!(cmp.snr_db > 30.0, "{cmp:?}");
    assert!(cmp.rms_before < 1e-4 && cmp.rms_after < 1e-4, "{cmp:?}");
}

/// `secs` of a sine at `freq` Hz, amplitude 0.5, on every channel of the fake microphone.
fn tone(freq: f64, secs: f64, channels: u16) -> Vec<f32> {
    let frames = (secs * f64::from(NATIVE_RATE)) as usize;
    let mono: Vec<f32> = (0..frames)
        .map(|i| (0.5 * (std::f64::consts::TAU * freq * i as f64 / f64::from(NATIVE_RATE)).sin()) as f32)
        .collect();
    interleave(&mono, &vec![1.0; usize::from(channels)])
}

/// What a 100 ms window of captured audio holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Window {
    /// Digital silence: every sample exactly 0.
    Zeros,
    /// The 0.5-amplitude sine at about this frequency (from its zero crossings).
    Tone(u32),
    /// Anything else (a window straddling two of the above).
    Other,
}

fn classify(window: &[f32]) -> Window {
    if window.iter().all(|&s| s == 0.0) {
        return Window::Zeros;
    }
    let rms = support::rms(window);
    if (rms - 0.5 / 2f64.sqrt()).abs() > 0.02 {
        return Window::Other;
    }
    let crossings = window.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    let secs = window.len() as f64 / f64::from(SAMPLE_RATE);
    Window::Tone((crossings as f64 / secs / 2.0).round() as u32)
}

/// Pulls the fake microphone's device away in the middle of a capture and plugs it back: a
/// `LiveMicrophone` notices (stall timeout 1 s), hands out silence in real time, reopens the
/// device by name once the ALSA configuration lists it again, and the audio played after the
/// device came back is captured.
#[test]
fn unplugged_microphone_is_recovered_through_alsa() {
    let dir = support::tempdir();
    let mic = FakeMic::new(dir.path());
    let (_, channels) = mic.native_format();
    let before = tone(440.0, 1.0, channels);
    let after = tone(880.0, 1.0, channels);
    let (report, captured, log) =
        capture_in_child(&mic, mic.device(), 8.0, Some(Duration::from_secs(1)), dir.path(), || {
            mic.play_samples(&before);
            assert!(mic.wait_played(Duration::from_secs(10)), "the child stopped reading");
            std::thread::sleep(Duration::from_millis(300));
            mic.unplug();
            std::thread::sleep(Duration::from_secs(3));
            mic.replug();
            mic.play_samples(&after);
        });
    eprintln!("{report:?}");
    log.lines().filter(|l| l.contains("microphone")).for_each(|l| eprintln!("child: {l}"));
    assert_eq!(report.reconnects, 1, "{report:?}\n{log}");
    assert_eq!(report.overruns, 0, "{report:?}");
    let lost = format!("microphone {} lost: ", mic.device());
    assert!(log.contains(&lost) && log.contains("no audio arrived for 1 s"), "{log}");
    assert!(log.contains("retrying every 1 s"), "{log}");
    assert!(log.contains(&format!("microphone {} is back", mic.device())), "{log}");
    assert_eq!(log.matches(&lost).count(), 1, "one warning per loss:\n{log}");

    // The capture, 100 ms at a time: the 440 Hz tone, zeros (fed silence, then the outage),
    // the 880 Hz tone, zeros. Windows that straddle two parts are "Other".
    let windows: Vec<Window> = captured.chunks_exact(SAMPLE_RATE as usize / 10).map(classify).collect();
    eprintln!("{windows:?}");
    let first = |w: Window| windows.iter().position(|&x| x == w);
    let last = |w: Window| windows.iter().rposition(|&x| x == w);
    let count = |w: Window| windows.iter().filter(|&&x| x == w).count();
    assert!(count(Window::Tone(440)) >= 9, "{windows:?}");
    assert!(count(Window::Tone(880)) >= 9, "{windows:?}");
    assert!(count(Window::Other) <= 5, "only the tones' edges straddle two parts: {windows:?}");
    let (a_end, b_start) = (last(Window::Tone(440)).unwrap(), first(Window::Tone(880)).unwrap());
    assert!(a_end < b_start, "{windows:?}");
    assert!(windows[..first(Window::Tone(440)).unwrap()].iter().all(|&w| w != Window::Tone(880)));
    // Between the tones: 0.3 s of fed silence, then the outage. The device was gone from the
    // stall (1 s after the feed stopped) until it was reopened (within 1 s of being plugged
    // back 3 s after the feed stopped): 2 to 3 s of zeros, handed out in real time (the lower
    // bound leaves room for a child slowed down by a busy machine).
    let gap = &windows[a_end + 1..b_start];
    let zeros = gap.iter().filter(|&&w| w == Window::Zeros).count();
    assert!((15..=35).contains(&zeros), "{zeros} silent windows between the tones: {windows:?}");
    // Real time throughout, apart from the stall: 1 s in which no block was handed out.
    let lag_ms = report.paced_wall_ms - report.paced_audio_ms;
    assert!((700.0..1400.0).contains(&lag_ms), "{report:?}");
}
