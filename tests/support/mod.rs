//! Deterministic speech and noise for the integration tests (use with `mod support;`).
//!
//! Speech comes from espeak-ng (formant synthesis: the same text, voice and speed always give
//! the same bytes) or, where `scripts/setup-test-env` has set it up, from the neural TTS Piper
//! with its noise scales at 0 (also byte-for-byte repeatable). Noise is made here with a
//! fixed-seed PRNG and written with hound, so it does not depend on sox's random numbers.
//! Every sox call runs with `-R` (repeatable) and `-D` (no dither).
//!
//! Unless told otherwise, the helpers write the pipeline's format: 16 kHz, mono, 16-bit PCM
//! WAV. Put the files in a [`tempdir`], never in the repository.
//!
//! Models and Piper: a test that needs them is marked `#[ignore = "needs the test environment
//! …: run scripts/test"]`, so plain `cargo test` lists it as ignored with the reason instead of
//! passing it, and `scripts/test` runs it (`--include-ignored`). Run anyway without the
//! environment, [`model`] and [`piper`] fail with the command that prepares it: a test never
//! passes by skipping.
#![allow(dead_code)]

pub mod alsa;
pub mod speaker;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Sample rate of everything the helpers write unless told otherwise.
pub const RATE: u32 = 16_000;

/// Seed of the noise made by [`mix_noise`], [`white_noise`] and [`pink_noise`].
pub const DEFAULT_SEED: u64 = 0x4845_4152_5448; // "HEARTH"

// ---------------------------------------------------------------------------------------
// Test corpus

/// Language of a command sentence or voice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

/// English voice commands, lower case, numbers in words (as a person would say them).
pub const EN_COMMANDS: &[&str] = &[
    "turn on the kitchen light",
    "turn off the living room lights",
    "set the bedroom light to fifty percent",
    "dim the hallway light",
    "switch off the fan",
    "set the thermostat to twenty one degrees",
    "what is the temperature in the living room",
    "what time is it",
    "set a timer for five minutes",
    "cancel the timer",
    "play some music",
    "stop",
];

/// German voice commands, lower case except nouns, numbers in words.
pub const DE_COMMANDS: &[&str] = &[
    "schalte das Licht in der Küche ein",
    "mach das Licht im Wohnzimmer aus",
    "stelle das Licht im Schlafzimmer auf fünfzig Prozent",
    "dimme das Licht im Flur",
    "schalte den Ventilator aus",
    "stelle die Heizung auf einundzwanzig Grad",
    "wie warm ist es im Wohnzimmer",
    "wie spät ist es",
    "stelle einen Timer auf fünf Minuten",
    "brich den Timer ab",
    "spiele Musik",
    "stopp",
];

/// espeak-ng English voices: accents and `+variant` speakers (checked with
/// `espeak-ng --voices=en` and `--voices=variant`; all ship with Debian's espeak-ng-data).
pub const EN_VOICES: &[&str] = &["en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-us+f4", "en-gb-x-rp", "en-us+m7"];

/// espeak-ng German voices.
pub const DE_VOICES: &[&str] = &["de", "de+f2", "de+m3", "de+f4"];

/// Speaking rates (words per minute) to try: slow, espeak-ng's default, fast.
pub const SPEEDS_WPM: &[u32] = &[140, 175, 210];

/// The command sentences of `lang`.
pub fn commands(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => EN_COMMANDS,
        Lang::De => DE_COMMANDS,
    }
}

/// The espeak-ng voices of `lang`.
pub fn voices(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::En => EN_VOICES,
        Lang::De => DE_VOICES,
    }
}

// ---------------------------------------------------------------------------------------
// Paths and models

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's `models/` folder, filled by `scripts/setup-test-env`.
pub fn models_dir() -> PathBuf {
    repo_root().join("models")
}

/// Home Assistant's pinned sentence data in `models/` (the default of `[intent] data`).
pub fn intents_data() -> PathBuf {
    models_dir().join("home_assistant_intents-2026.10.27-py3-none-any.whl")
}

/// `models/NAME`; a failure naming the fix when it is missing.
pub fn model(name: &str) -> PathBuf {
    find_model(&models_dir(), name)
}

/// [`model`] in folder `dir` (testable without the environment).
pub fn find_model(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    if !path.is_file() {
        unavailable(&format!("model {} is missing", path.display()));
    }
    path
}

/// Fails the test: what is missing and the command that prepares it.
fn unavailable(what: &str) -> ! {
    panic!("{what}: run scripts/setup-test-env (scripts/test does), or run the tests with scripts/test")
}

/// A fresh temporary folder for synthesised audio, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("hearth-test-").tempdir().expect("create a temporary folder")
}

// ---------------------------------------------------------------------------------------
// External tools

fn run(cmd: &mut Command, stdin: Option<&str>, what: &str) -> std::process::Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} not found ({what}): apt-get install espeak-ng sox (see .ci/run), \
             or run scripts/setup-test-env"
        ),
        Err(e) => panic!("cannot start {program} ({what}): {e}"),
    };
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("write to {program} ({what}): {e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("wait for {program} ({what}): {e}"))
}

fn check(out: std::process::Output, cmd: &str) {
    assert!(out.status.success(), "{cmd} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
}

/// A temporary `.wav` path beside `out` (same filesystem, removed when dropped).
fn temp_wav_beside(out: &Path) -> tempfile::TempPath {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".synth-")
        .suffix(".wav")
        .tempfile_in(dir)
        .expect("create a temporary WAV file")
        .into_temp_path()
}

/// Speaks `text` with espeak-ng (`-v voice -s speed_wpm`) into `out` as 16 kHz mono 16-bit.
/// Panics if espeak-ng or sox is missing or the voice does not exist.
pub fn espeak(text: &str, voice: &str, speed_wpm: u32, out: &Path) -> PathBuf {
    let raw = temp_wav_beside(out);
    let res = run(
        Command::new("espeak-ng")
            .args(["-v", voice, "-s", &speed_wpm.to_string(), "-b", "1", "--stdin", "-w"])
            .arg(&*raw),
        Some(text),
        "speech synthesis",
    );
    check(res, &format!("espeak-ng -v {voice} -s {speed_wpm} {text:?}"));
    sox_convert(&raw, out, RATE, 1, 16)
}

/// Converts any audio sox reads into a WAV with the given rate, channels and bits per sample
/// (repeatable: `sox -R -D`). Returns `out`.
pub fn sox_convert(input: &Path, out: &Path, rate: u32, channels: u16, bits: u16) -> PathBuf {
    let res = run(
        Command::new("sox")
            .args(["-R", "-D", "-V1"])
            .arg(input)
            .args(["-r", &rate.to_string(), "-c", &channels.to_string()])
            .args(["-b", &bits.to_string()])
            .arg(out),
        None,
        "audio conversion",
    );
    check(res, &format!("sox {} -> {} Hz, {channels} ch, {bits} bit", input.display(), rate));
    out.to_path_buf()
}

/// Speaks `text` with Piper (voice en_US-joe-medium, deterministic) into `out` as 16 kHz
/// mono 16-bit, via `scripts/piper-say`; a failure naming the fix when Piper is not set up.
pub fn piper(text: &str, out: &Path) -> PathBuf {
    piper_with(text, &[], out)
}

/// [`piper`] with extra Piper options, e.g. `&["--length-scale", "1.3"]` to speak slower.
pub fn piper_with(text: &str, options: &[&str], out: &Path) -> PathBuf {
    let script = repo_root().join("scripts").join("piper-say");
    let raw = temp_wav_beside(out);
    let res = run(Command::new(&script).arg(text).arg(&*raw).args(options), None, "Piper speech synthesis");
    if res.status.code() == Some(3) {
        unavailable(&format!("Piper is not set up ({})", String::from_utf8_lossy(&res.stderr).trim()));
    }
    check(res, &format!("scripts/piper-say {text:?}"));
    sox_convert(&raw, out, RATE, 1, 16)
}

// ---------------------------------------------------------------------------------------
// WAV reading and writing

/// A WAV file's samples as `f32` in [-1, 1], interleaved, with its spec.
pub fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let spec = reader.spec();
    let samples: Result<Vec<f32>, _> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|v| v as f32 * scale)).collect()
        }
    };
    let samples = samples.unwrap_or_else(|e| panic!("decode {}: {e}", path.display()));
    (spec, samples)
}

/// Writes interleaved `f32` samples as 16-bit PCM (rounded, clamped to [-1, 1]).
pub fn write_wav(path: &Path, samples: &[f32], rate: u32, channels: u16) -> PathBuf {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut w = hound::WavWriter::create(path, spec).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16;
        w.write_sample(v).expect("write a sample");
    }
    w.finalize().unwrap_or_else(|e| panic!("finish {}: {e}", path.display()));
    path.to_path_buf()
}

/// Length of a WAV file in seconds.
pub fn duration_secs(path: &Path) -> f64 {
    let r = hound::WavReader::open(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    r.duration() as f64 / r.spec().sample_rate as f64
}

/// Root mean square of the samples (0 for none).
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64) * (s as f64)).sum();
    (sum / samples.len() as f64).sqrt()
}

// ---------------------------------------------------------------------------------------
// Noise and editing

/// Colour of synthetic noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noise {
    /// Gaussian white noise (flat spectrum).
    White,
    /// Pink noise (-3 dB per octave), filtered from Gaussian white noise.
    Pink,
}

/// SplitMix64: small, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// `n` samples of noise of the given colour, scaled to exactly `target_rms`.
pub fn noise_samples(kind: Noise, n: usize, target_rms: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let mut v: Vec<f64> = Vec::with_capacity(n);
    match kind {
        Noise::White => v.extend((0..n).map(|_| rng.gauss())),
        Noise::Pink => {
            // Paul Kellett's refined pink filter.
            let mut b = [0.0f64; 7];
            for _ in 0..n {
                let w = rng.gauss();
                b[0] = 0.99886 * b[0] + w * 0.0555179;
                b[1] = 0.99332 * b[1] + w * 0.0750759;
                b[2] = 0.96900 * b[2] + w * 0.1538520;
                b[3] = 0.86650 * b[3] + w * 0.3104856;
                b[4] = 0.55000 * b[4] + w * 0.5329522;
                b[5] = -0.7616 * b[5] - w * 0.0168980;
                v.push(b.iter().sum::<f64>() + w * 0.5362);
                b[6] = w * 0.115926;
            }
        }
    }
    let actual = (v.iter().map(|x| x * x).sum::<f64>() / n.max(1) as f64).sqrt();
    let k = if actual > 0.0 { target_rms / actual } else { 0.0 };
    v.into_iter().map(|x| (x * k) as f32).collect()
}

/// Adds white noise to `speech` at `snr_db` relative to the speech's RMS (over the whole
/// file), with the default seed. Same rate and channels as `speech`, 16-bit. Returns `out`.
pub fn mix_noise(speech: &Path, snr_db: f64, out: &Path) -> PathBuf {
    mix_noise_with(speech, Noise::White, snr_db, DEFAULT_SEED, out)
}

/// [`mix_noise`] with the noise colour and seed given. If the sum would clip, the whole mix
/// is scaled down (the SNR stays as asked).
pub fn mix_noise_with(speech: &Path, kind: Noise, snr_db: f64, seed: u64, out: &Path) -> PathBuf {
    let (spec, s) = read_wav(speech);
    let speech_rms = rms(&s);
    assert!(speech_rms > 0.0, "{} is silent: no SNR to mix at", speech.display());
    let noise_rms = speech_rms / 10f64.powf(snr_db / 20.0);
    let n = noise_samples(kind, s.len(), noise_rms, seed);
    let mut mix: Vec<f32> = s.iter().zip(&n).map(|(a, b)| a + b).collect();
    let peak = mix.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    if peak > 0.999 {
        let g = 0.999 / peak;
        mix.iter_mut().for_each(|x| *x *= g);
    }
    write_wav(out, &mix, spec.sample_rate, spec.channels)
}

/// `secs` of digital silence, 16 kHz mono 16-bit.
pub fn silence(secs: f64, out: &Path) -> PathBuf {
    write_wav(out, &vec![0.0; secs_to_samples(secs)], RATE, 1)
}

/// `secs` of uniform white noise in [-amplitude, amplitude] (RMS amplitude/sqrt(3)),
/// 16 kHz mono 16-bit, default seed.
pub fn white_noise(secs: f64, amplitude: f32, out: &Path) -> PathBuf {
    let mut rng = Rng(DEFAULT_SEED);
    let v: Vec<f32> =
        (0..secs_to_samples(secs)).map(|_| ((rng.uniform() * 2.0 - 1.0) * amplitude as f64) as f32).collect();
    write_wav(out, &v, RATE, 1)
}

/// `secs` of pink noise with the given RMS level, 16 kHz mono 16-bit, default seed.
pub fn pink_noise(secs: f64, rms_level: f64, out: &Path) -> PathBuf {
    let v = noise_samples(Noise::Pink, secs_to_samples(secs), rms_level, DEFAULT_SEED);
    write_wav(out, &v, RATE, 1)
}

fn secs_to_samples(secs: f64) -> usize {
    assert!(secs >= 0.0, "negative duration {secs}");
    (secs * RATE as f64).round() as usize
}

/// Joins WAV files with `gap_secs` of silence between them (none before or after). All parts
/// must have the same rate and channels; the output is 16-bit in that format.
pub fn concat(parts: &[&Path], gap_secs: f64, out: &Path) -> PathBuf {
    assert!(!parts.is_empty(), "concat of no parts");
    let mut format: Option<(u32, u16)> = None;
    let mut all = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let (spec, s) = read_wav(part);
        let (rate, channels) = *format.get_or_insert((spec.sample_rate, spec.channels));
        assert_eq!(
            (spec.sample_rate, spec.channels),
            (rate, channels),
            "{}: rate/channels differ from the first part (convert with sox_convert)",
            part.display()
        );
        if i > 0 {
            let frames = (gap_secs * rate as f64).round() as usize;
            all.extend(std::iter::repeat_n(0.0f32, frames * channels as usize));
        }
        all.extend(s);
    }
    let (rate, channels) = format.expect("at least one part");
    write_wav(out, &all, rate, channels)
}

/// The child's standard error (which must be piped), line by line as it comes, read by a thread
/// of its own so the child never blocks on a full pipe.
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("the child's stderr is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Waits for a line of `lines` containing `needle` (each line within `timeout`); returns every
/// line seen so far. Panics with them if none comes.
pub fn wait_for_line(
    lines: &std::sync::mpsc::Receiver<String>,
    needle: &str,
    timeout: std::time::Duration,
) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(timeout) {
        let hit = line.contains(needle);
        seen.push(line);
        if hit {
            return seen;
        }
    }
    panic!("hearth never logged {needle:?}:\n{}", seen.join("\n"));
}
