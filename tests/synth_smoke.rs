//! Checks the speech and noise helpers in `tests/support` themselves.

mod support;

use std::path::Path;
use support::{Lang, Noise};

/// Asserts `path` is a 16 kHz mono 16-bit PCM WAV and returns its duration in seconds.
fn assert_pipeline_wav(path: &Path) -> f64 {
    let (spec, samples) = support::read_wav(path);
    assert_eq!(spec.sample_rate, support::RATE, "{}", path.display());
    assert_eq!(spec.channels, 1, "{}", path.display());
    assert_eq!(spec.bits_per_sample, 16, "{}", path.display());
    assert_eq!(spec.sample_format, hound::SampleFormat::Int);
    samples.len() as f64 / spec.sample_rate as f64
}

/// SNR of `noisy` against `clean`, independent of any gain applied to the mix: the clean
/// part is the least-squares projection of `noisy` onto `clean`, the rest is noise.
fn measured_snr_db(clean: &[f32], noisy: &[f32]) -> f64 {
    assert_eq!(clean.len(), noisy.len());
    let dot = |a: &[f32], b: &[f32]| -> f64 { a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum() };
    let ss = dot(clean, clean);
    let g = dot(noisy, clean) / ss;
    let residual: f64 = clean
        .iter()
        .zip(noisy)
        .map(|(&c, &n)| {
            let r = n as f64 - g * c as f64;
            r * r
        })
        .sum();
    10.0 * (g * g * ss / residual).log10()
}

#[test]
fn espeak_command_has_plausible_duration() {
    let dir = support::tempdir();
    let out = dir.path().join("kitchen.wav");
    support::espeak("turn on the kitchen light", "en-us", 175, &out);
    let secs = assert_pipeline_wav(&out);
    assert!((1.0..=3.0).contains(&secs), "duration {secs} s");
    let (_, samples) = support::read_wav(&out);
    assert!(support::rms(&samples) > 0.01, "speech is nearly silent");
}

#[test]
fn espeak_is_deterministic_and_speed_matters() {
    let dir = support::tempdir();
    let a = dir.path().join("a.wav");
    let b = dir.path().join("b.wav");
    let fast = dir.path().join("fast.wav");
    support::espeak("set a timer for five minutes", "en-gb+m3", 175, &a);
    support::espeak("set a timer for five minutes", "en-gb+m3", 175, &b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    support::espeak("set a timer for five minutes", "en-gb+m3", 260, &fast);
    assert!(support::duration_secs(&fast) < 0.85 * support::duration_secs(&a));
}

#[test]
fn every_listed_voice_speaks_every_command() {
    let dir = support::tempdir();
    for lang in [Lang::En, Lang::De] {
        for (i, voice) in support::voices(lang).iter().enumerate() {
            // Every voice once, every command once: a voice/command pair each.
            let commands = support::commands(lang);
            let text = commands[i % commands.len()];
            let out = dir.path().join(format!("{voice}.wav"));
            support::espeak(text, voice, 175, &out);
            let secs = assert_pipeline_wav(&out);
            assert!((0.3..=5.0).contains(&secs), "{voice} {text:?}: {secs} s");
        }
        for text in support::commands(lang) {
            let out = dir.path().join("cmd.wav");
            support::espeak(text, support::voices(lang)[0], 175, &out);
            let secs = assert_pipeline_wav(&out);
            assert!((0.3..=5.0).contains(&secs), "{text:?}: {secs} s");
        }
    }
}

#[test]
fn german_umlauts_are_spoken() {
    let dir = support::tempdir();
    let out = dir.path().join("kueche.wav");
    support::espeak("schalte das Licht in der Küche ein", "de+f2", 175, &out);
    let secs = assert_pipeline_wav(&out);
    assert!((1.0..=4.0).contains(&secs), "duration {secs} s");
}

#[test]
fn noise_mixing_hits_the_requested_snr() {
    let dir = support::tempdir();
    let speech = dir.path().join("speech.wav");
    support::espeak("what is the temperature in the living room", "en-us", 175, &speech);
    let (_, clean) = support::read_wav(&speech);
    for kind in [Noise::White, Noise::Pink] {
        for snr in [-5.0, 0.0, 10.0, 20.0, 30.0] {
            let out = dir.path().join(format!("{kind:?}-{snr}.wav"));
            support::mix_noise_with(&speech, kind, snr, support::DEFAULT_SEED, &out);
            let dur = assert_pipeline_wav(&out);
            assert!((dur - support::duration_secs(&speech)).abs() < 1e-6);
            let (_, noisy) = support::read_wav(&out);
            let got = measured_snr_db(&clean, &noisy);
            assert!((got - snr).abs() < 1.0, "{kind:?} at {snr} dB: measured {got:.2} dB");
        }
    }
}

#[test]
fn noise_is_deterministic_and_seeded() {
    let dir = support::tempdir();
    let speech = dir.path().join("speech.wav");
    support::espeak("stop", "en-us", 175, &speech);
    let a = support::mix_noise(&speech, 10.0, &dir.path().join("a.wav"));
    let b = support::mix_noise(&speech, 10.0, &dir.path().join("b.wav"));
    let c = support::mix_noise_with(&speech, Noise::White, 10.0, 7, &dir.path().join("c.wav"));
    let bytes = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(bytes(&a), bytes(&b));
    assert_ne!(bytes(&a), bytes(&c));
}

#[test]
fn silence_noise_and_concat() {
    let dir = support::tempdir();
    let quiet = support::silence(0.5, &dir.path().join("silence.wav"));
    assert!((assert_pipeline_wav(&quiet) - 0.5).abs() < 1e-9);
    assert!(support::read_wav(&quiet).1.iter().all(|&s| s == 0.0));

    let hiss = support::white_noise(1.25, 0.1, &dir.path().join("white.wav"));
    assert!((assert_pipeline_wav(&hiss) - 1.25).abs() < 1e-9);
    let (_, s) = support::read_wav(&hiss);
    assert!(s.iter().all(|x| x.abs() <= 0.1 + 1e-4));
    let expected_rms = 0.1 / 3f64.sqrt();
    assert!((support::rms(&s) / expected_rms - 1.0).abs() < 0.05);

    let pink = support::pink_noise(1.0, 0.05, &dir.path().join("pink.wav"));
    assert!((support::rms(&support::read_wav(&pink).1) - 0.05).abs() < 0.002);

    let speech = dir.path().join("speech.wav");
    support::espeak("what time is it", "en-us", 175, &speech);
    let joined = support::concat(&[&quiet, &speech, &hiss], 0.25, &dir.path().join("joined.wav"));
    let expected = 0.5 + support::duration_secs(&speech) + 1.25 + 2.0 * 0.25;
    assert!((assert_pipeline_wav(&joined) - expected).abs() < 1e-3);
}

#[test]
fn sox_convert_changes_format_not_duration() {
    let dir = support::tempdir();
    let speech = dir.path().join("speech.wav");
    support::espeak("play some music", "en-us+f3", 175, &speech);
    let out = support::sox_convert(&speech, &dir.path().join("cd.wav"), 44_100, 2, 24);
    let (spec, _) = support::read_wav(&out);
    assert_eq!((spec.sample_rate, spec.channels, spec.bits_per_sample), (44_100, 2, 24));
    assert!((support::duration_secs(&out) - support::duration_secs(&speech)).abs() < 0.01);
}

#[test]
fn missing_model_fails_with_the_fix() {
    let dir = support::tempdir();
    std::fs::write(dir.path().join("there.bin"), b"x").unwrap();
    assert_eq!(support::find_model(dir.path(), "there.bin"), dir.path().join("there.bin"));
    let missing = std::panic::catch_unwind(|| support::find_model(dir.path(), "nope.bin"));
    let message = missing.expect_err("a missing model must fail the test, never skip it");
    let message = message.downcast_ref::<String>().expect("a formatted panic message");
    assert!(message.contains("nope.bin") && message.contains("scripts/setup-test-env"), "{message}");
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn piper_speaks_deterministically() {
    let dir = support::tempdir();
    let a = dir.path().join("a.wav");
    support::piper("turn on the kitchen light", &a);
    let secs = assert_pipeline_wav(&a);
    assert!((0.7..=3.0).contains(&secs), "duration {secs} s");
    let b = dir.path().join("b.wav");
    support::piper("turn on the kitchen light", &b);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}
