//! The audio front-end end to end: WAV files in every supported format (made at test time with
//! hound, and with sox when it is installed), raw s16le, streaming, and the error messages.

use std::f64::consts::TAU;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use hearth::audio::{
    AudioError, BLOCK_SAMPLES, RawS16leSource, Resampler16k, SAMPLE_RATE, Samples, Source, WavSource, read_all,
    read_raw_s16le, read_wav,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Writes a WAV whose channel `c` at frame `i` is `signal(c, t)` (t in seconds), as the given
/// integer bit depth or 32-bit float.
fn write_wav(
    path: &Path,
    rate: u32,
    channels: u16,
    bits: u16,
    float: bool,
    secs: f64,
    signal: impl Fn(u16, f64) -> f64,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float { hound::SampleFormat::Float } else { hound::SampleFormat::Int },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let frames = (f64::from(rate) * secs).round() as usize;
    let full_scale = (1i64 << (bits - 1)) as f64;
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        for c in 0..channels {
            let v = signal(c, t);
            if float {
                w.write_sample(v as f32).unwrap();
            } else {
                let q = (v * full_scale).round().clamp(-full_scale, full_scale - 1.0) as i64;
                match bits {
                    8 => w.write_sample(q as i8).unwrap(),
                    16 => w.write_sample(q as i16).unwrap(),
                    _ => w.write_sample(q as i32).unwrap(),
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn sine(freq: f64, amp: f64) -> impl Fn(u16, f64) -> f64 {
    move |_, t| amp * (TAU * freq * t).sin()
}

/// Amplitude of the `freq` component of 16 kHz `x` (Goertzel over the whole slice).
fn amplitude_at(x: &[f32], freq: f64) -> f64 {
    let w = TAU * freq / f64::from(SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = f64::from(v) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / x.len() as f64
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

fn zero_crossings(x: &[f32]) -> usize {
    x.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count()
}

/// The middle of the signal, away from the edges where filters see silence.
fn middle(x: &[f32]) -> &[f32] {
    let edge = 160; // 10 ms
    &x[edge..x.len() - edge]
}

/// Asserts that `out` is a clean `freq` Hz sine of amplitude `amp` lasting `secs`.
fn assert_sine(out: &[f32], secs: f64, freq: f64, amp: f64, what: &str) {
    let expected_len = secs * f64::from(SAMPLE_RATE);
    assert!((out.len() as f64 - expected_len).abs() <= 2.0, "{what}: {} samples, expected {expected_len}", out.len());
    let mid = middle(out);
    let rms_expected = amp / 2f64.sqrt();
    let got_rms = rms(mid);
    assert!((got_rms / rms_expected - 1.0).abs() < 0.02, "{what}: RMS {got_rms}, expected {rms_expected}");
    let crossings = zero_crossings(mid) as f64;
    let expected_crossings = 2.0 * freq * mid.len() as f64 / f64::from(SAMPLE_RATE);
    assert!(
        (crossings - expected_crossings).abs() <= 2.0,
        "{what}: {crossings} zero crossings, expected {expected_crossings}"
    );
    let at = amplitude_at(mid, freq);
    assert!((at / amp - 1.0).abs() < 0.02, "{what}: amplitude at {freq} Hz is {at}, expected {amp}");
    for other in [freq * 0.5, freq * 1.5, freq * 2.0] {
        let leak = amplitude_at(mid, other);
        assert!(leak < 0.01 * amp, "{what}: {leak} at {other} Hz");
    }
}

fn sox_available() -> bool {
    Command::new("sox").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// Peak amplitude of the mono mix of a sine WAV, measured at its own rate with hound.
fn source_amplitude(path: &Path) -> f64 {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let values: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| f64::from(s.unwrap())).collect(),
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f64;
            r.samples::<i32>().map(|s| f64::from(s.unwrap()) / scale).collect()
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f64> = values.chunks(channels).map(|f| f.iter().sum::<f64>() / channels as f64).collect();
    (mono.iter().map(|v| v * v).sum::<f64>() / mono.len() as f64).sqrt() * 2f64.sqrt()
}

fn sox(args: &[&str]) {
    let status = Command::new("sox").args(args).status().unwrap();
    assert!(status.success(), "sox {args:?} failed");
}

fn err_message(path: &Path) -> (AudioError, String) {
    let err = read_wav(path).expect_err("expected an error");
    let msg = err.to_string();
    (err, msg)
}

/// A hand-made WAV header: RIFF, a 16-byte fmt chunk and a data chunk of `data` bytes.
fn raw_wav(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
    let align = channels * bits.div_ceil(8);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
    v.extend_from_slice(&align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

// ---------------------------------------------------------------------------------------------
// Formats

#[test]
fn wav_44k1_stereo_16bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    write_wav(&path, 44_100, 2, 16, false, 1.0, sine(440.0, 0.5));
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "44.1 kHz stereo 16-bit");
}

#[test]
fn wav_48k_24bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.wav");
    write_wav(&path, 48_000, 1, 24, false, 1.0, sine(440.0, 0.5));
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "48 kHz 24-bit");
}

#[test]
fn wav_8k_8bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.wav");
    write_wav(&path, 8_000, 1, 8, false, 1.0, sine(440.0, 0.5));
    // 8-bit quantisation noise is about -50 dB: still well within the tolerances.
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "8 kHz 8-bit");
}

#[test]
fn wav_32bit_float() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.wav");
    write_wav(&path, 96_000, 2, 32, true, 1.0, sine(440.0, 0.5));
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "96 kHz 32-bit float");

    // Already 16 kHz mono float: passed through bit-exactly.
    let path = dir.path().join("e.wav");
    write_wav(&path, 16_000, 1, 32, true, 0.5, sine(440.0, 0.5));
    let out = read_wav(&path).unwrap();
    let signal = sine(440.0, 0.5);
    assert_eq!(out.len(), 8000);
    let exact = out.iter().enumerate().all(|(i, &v)| v == signal(0, i as f64 / 16_000.0) as f32);
    assert!(exact, "16 kHz mono float must pass through unchanged");
}

#[test]
fn wav_22k05_32bit_int() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.wav");
    write_wav(&path, 22_050, 1, 32, false, 1.0, sine(440.0, 0.5));
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "22.05 kHz 32-bit int");
}

#[test]
fn wav_odd_rate_uses_sinc_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.wav");
    write_wav(&path, 44_101, 1, 16, false, 1.0, sine(440.0, 0.5));
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.5, "44.101 kHz");
}

#[test]
fn full_scale_integers_map_to_unit_range() {
    let dir = tempfile::tempdir().unwrap();
    for bits in [8u16, 16, 24, 32] {
        let path = dir.path().join(format!("fs{bits}.wav"));
        let full = 1i64 << (bits - 1);
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for v in [-full, 0, full / 2, full - 1] {
            match bits {
                8 => w.write_sample(v as i8).unwrap(),
                16 => w.write_sample(v as i16).unwrap(),
                _ => w.write_sample(v as i32).unwrap(),
            }
        }
        w.finalize().unwrap();
        let out = read_wav(&path).unwrap();
        assert_eq!(out[0], -1.0, "{bits}-bit minimum");
        assert_eq!(out[1], 0.0, "{bits}-bit zero");
        assert_eq!(out[2], 0.5, "{bits}-bit half");
        // (2^31 - 1) / 2^31 rounds to 1.0 in f32.
        assert!(out[3] <= 1.0 && out[3] > 0.99, "{bits}-bit maximum {}", out[3]);
    }
}

#[test]
fn stereo_downmix_averages_channels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lr.wav");
    // Left: 440 Hz at 0.6; right: 1000 Hz at 0.2. Mono = (L + R) / 2.
    write_wav(&path, 44_100, 2, 16, false, 1.0, |c, t| {
        if c == 0 { 0.6 * (TAU * 440.0 * t).sin() } else { 0.2 * (TAU * 1000.0 * t).sin() }
    });
    let out = read_wav(&path).unwrap();
    let mid = middle(&out);
    let left = amplitude_at(mid, 440.0);
    let right = amplitude_at(mid, 1000.0);
    assert!((left - 0.3).abs() < 0.005, "440 Hz component {left}");
    assert!((right - 0.1).abs() < 0.003, "1000 Hz component {right}");
}

#[test]
fn six_channels_are_downmixed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("six.wav");
    // Only channel 3 carries the tone: mono gets a sixth of it.
    write_wav(&path, 48_000, 6, 16, false, 1.0, |c, t| if c == 3 { 0.6 * (TAU * 440.0 * t).sin() } else { 0.0 });
    assert_sine(&read_wav(&path).unwrap(), 1.0, 440.0, 0.1, "6 channels");
}

// ---------------------------------------------------------------------------------------------
// Streaming

#[test]
fn streaming_in_odd_chunks_equals_one_shot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.wav");
    write_wav(&path, 44_100, 2, 16, false, 1.3, sine(440.0, 0.5));
    let whole = read_wav(&path).unwrap();

    // Pulled through the Source trait in blocks of odd sizes.
    for block_len in [1usize, 7, 1000, BLOCK_SAMPLES, 4097] {
        let mut source = WavSource::open(&path).unwrap();
        let mut got = Samples::new();
        let mut block = Samples::zeros(block_len);
        loop {
            let n = source.read(&mut block).unwrap();
            got.extend_from_slice(&block[..n]);
            if n < block_len {
                break;
            }
        }
        assert_eq!(got, whole, "blocks of {block_len}");
        assert_eq!(source.read(&mut block).unwrap(), 0, "ended stays ended");
    }

    // Fed to the resampler in odd chunk sizes (splitting frames).
    let interleaved: Vec<f32> = {
        let mut r = hound::WavReader::open(&path).unwrap();
        r.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32_768.0).collect()
    };
    for chunk in [1usize, 3, 441, 1001, 9999] {
        let mut resampler = Resampler16k::new(44_100, 2).unwrap();
        let mut out = Samples::new();
        for c in interleaved.chunks(chunk) {
            resampler.process(c, &mut out).unwrap();
        }
        resampler.finish(&mut out).unwrap();
        assert_eq!(out, whole, "chunks of {chunk}");
    }
}

#[test]
fn raw_s16le_source_and_one_shot_agree() {
    let samples: Vec<i16> =
        (0..16_000).map(|i| (0.5 * 32_767.0 * (TAU * 440.0 * f64::from(i) / 16_000.0).sin()) as i16).collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let whole = read_raw_s16le(&bytes[..]).unwrap();
    assert_sine(&whole, 1.0, 440.0, 0.5, "raw s16le");
    let mut source = RawS16leSource::new(&bytes[..]);
    assert_eq!(read_all(&mut source).unwrap(), whole);
}

// ---------------------------------------------------------------------------------------------
// Real files from sox

#[test]
fn sox_files_read_correctly() {
    assert!(sox_available(), "sox is not installed: apt-get install sox (scripts/test installs it)");
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();

    let x = p("x.wav");
    sox(&["-n", "-r", "44100", "-c", "2", &x, "synth", "1", "sine", "440"]);
    let amp = source_amplitude(Path::new(&x));
    assert_sine(&read_wav(Path::new(&x)).unwrap(), 1.0, 440.0, amp, "sox 44.1k stereo");

    let y = p("y.wav");
    sox(&["-n", "-r", "48000", "-c", "1", "-b", "24", &y, "synth", "1", "sine", "440", "gain", "-6"]);
    let amp = source_amplitude(Path::new(&y));
    assert_sine(&read_wav(Path::new(&y)).unwrap(), 1.0, 440.0, amp, "sox 48k 24-bit");

    let z = p("z.wav");
    sox(&[
        "-n",
        "-r",
        "32000",
        "-c",
        "2",
        "-e",
        "floating-point",
        "-b",
        "32",
        &z,
        "synth",
        "1",
        "sine",
        "440",
        "gain",
        "-6",
    ]);
    let amp = source_amplitude(Path::new(&z));
    assert_sine(&read_wav(Path::new(&z)).unwrap(), 1.0, 440.0, amp, "sox 32k float");

    // Real encodings Hearth refuses, with the format named.
    let alaw = p("alaw.wav");
    sox(&["-n", "-r", "8000", "-c", "1", "-e", "a-law", &alaw, "synth", "1", "sine", "440"]);
    let (err, msg) = err_message(Path::new(&alaw));
    assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{msg}");
    assert!(msg.contains("alaw.wav") && msg.contains("A-law"), "{msg}");

    let f64_path = p("f64.wav");
    sox(&["-n", "-r", "16000", "-c", "1", "-e", "floating-point", "-b", "64", &f64_path, "synth", "1", "sine", "440"]);
    let (err, msg) = err_message(Path::new(&f64_path));
    assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{msg}");
    assert!(msg.contains("f64.wav") && msg.contains("64-bit float"), "{msg}");
}

#[test]
fn raw_from_a_sox_pipe() {
    assert!(sox_available(), "sox is not installed: apt-get install sox (scripts/test installs it)");
    let mut child = Command::new("sox")
        .args([
            "-n", "-t", "raw", "-r", "16000", "-c", "1", "-e", "signed", "-b", "16", "-", "synth", "1", "sine", "440",
            "gain", "-6",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = read_raw_s16le(child.stdout.take().unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    assert_sine(&out, 1.0, 440.0, 0.501, "raw from sox");
}

// ---------------------------------------------------------------------------------------------
// Errors: each names the file and the problem

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn text_file_is_not_a_wav() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "x.wav", b"hello, this is not audio at all\n");
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::NotWav { .. }), "{msg}");
    assert!(msg.contains("x.wav"), "{msg}");
    assert!(msg.contains("is not a WAV file (no RIFF/WAVE header)"), "{msg}");
    assert!(msg.contains("sox in.mp3 -r 16000 -c 1 out.wav"), "{msg}");

    // Shorter than a RIFF header, and not its beginning either.
    let path = write(dir.path(), "short.wav", b"ID3");
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::NotWav { .. }), "{msg}");
}

#[test]
fn truncated_wav_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.wav");
    write_wav(&path, 16_000, 1, 16, false, 1.0, sine(440.0, 0.5));
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 44 + 32_000);
    fs::write(&path, &bytes[..20_000]).unwrap();
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::Truncated { .. }), "{msg}");
    assert!(msg.contains("cut.wav"), "{msg}");
    assert!(msg.contains("is truncated: header announces 16000 samples, file holds 9978"), "{msg}");

    // Cut inside the header.
    fs::write(&path, &bytes[..30]).unwrap();
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::TruncatedHeader { .. }), "{msg}");
    assert!(msg.contains("cut.wav") && msg.contains("is truncated"), "{msg}");

    // Cut inside the RIFF tag itself.
    fs::write(&path, &bytes[..3]).unwrap();
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::TruncatedHeader { .. }), "{msg}");
}

#[test]
fn empty_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty.wav", b"");
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::Empty { .. }), "{msg}");
    assert!(msg.contains("empty.wav") && msg.contains("is empty"), "{msg}");

    // A valid WAV with no samples.
    let path = write(dir.path(), "nothing.wav", &raw_wav(1, 1, 16_000, 16, &[]));
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::Empty { .. }), "{msg}");
    assert!(msg.contains("nothing.wav") && msg.contains("0 samples"), "{msg}");
}

#[test]
fn missing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.wav");
    let (err, msg) = err_message(&path);
    assert!(matches!(err, AudioError::NotFound { .. }), "{msg}");
    assert!(msg.contains("nope.wav") && msg.contains("file not found"), "{msg}");
    assert!(WavSource::open(&path).is_err());
}

#[test]
fn unsupported_encodings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, u16, u16, &str); 5] = [
        ("f64.wav", 3, 64, "64-bit float"),
        ("alaw.wav", 6, 8, "A-law (format tag 0x0006)"),
        ("ulaw.wav", 7, 8, "µ-law (format tag 0x0007)"),
        ("adpcm.wav", 2, 4, "Microsoft ADPCM"),
        ("pcm12.wav", 1, 12, "12-bit integer PCM"),
    ];
    for (name, tag, bits, expected) in cases {
        let path = write(dir.path(), name, &raw_wav(tag, 1, 8_000, bits, &[0u8; 64]));
        let (err, msg) = err_message(&path);
        assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{msg}");
        assert!(msg.contains(name), "{msg}");
        assert!(msg.contains(expected), "{msg}");
        assert!(msg.contains("sox"), "{msg}");
    }
}

#[test]
fn empty_raw_input_is_an_error() {
    let err = read_raw_s16le(std::io::empty()).unwrap_err();
    assert!(matches!(err, AudioError::Empty { .. }), "{err}");
}
