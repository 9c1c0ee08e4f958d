//! Speech out for real: `hearth say` through espeak-ng, cpal and ALSA into the fake speaker
//! (tests/support/speaker.rs), in English and German.

mod support;

use std::process::Command;
use std::time::Duration;

use support::speaker::{self, FakeSpeaker};

/// Seconds espeak-ng itself takes to say `text` with `voice` (at the default 175 wpm).
fn espeak_secs(text: &str, voice: &str, dir: &std::path::Path) -> f64 {
    let wav = support::espeak(text, voice, 175, &dir.join(format!("{voice}.wav")));
    let (spec, samples) = support::read_wav(&wav);
    speaker::secs(speaker::trim(&samples)) * f64::from(speaker::RATE) / f64::from(spec.sample_rate)
}

fn say(dir: &std::path::Path, fake: &FakeSpeaker, args: &[&str]) -> std::process::Output {
    let config = dir.join("config.toml");
    std::fs::write(&config, format!("[feedback]\ndevice = \"{}\"\n", speaker::DEVICE)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.arg("say").arg("--config").arg(&config).args(args);
    for (k, v) in fake.env() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn say_speaks_english_and_german_on_the_speaker() {
    let dir = support::tempdir();
    let fake = FakeSpeaker::new(dir.path());
    let cases =
        [("en", "en-us", "Timer set for five minutes"), ("de", "de", "Das Licht in der Küche ist eingeschaltet")];
    for (i, (language, voice, text)) in cases.into_iter().enumerate() {
        let out = say(dir.path(), &fake, &["--language", language, text]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "hearth say failed: {stderr}");
        let sounds = fake.wait_sounds(i + 1, Duration::from_secs(10));
        assert_eq!(sounds.len(), i + 1, "{stderr}");
        let played = speaker::secs(&sounds[i]);
        let expected = espeak_secs(text, voice, dir.path());
        eprintln!("{language}: played {played:.2} s, espeak-ng says it in {expected:.2} s");
        assert!((played - expected).abs() < 0.1, "{language}: played {played:.2} s, expected {expected:.2} s");
        let peak = sounds[i].iter().fold(0.0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.1 && peak <= 1.0, "{language}: peak {peak}");
    }
    // The same words in the other language's voice sound different: the language is honoured.
    let en_for_de = espeak_secs(cases[1].2, "en-us", dir.path());
    let de = espeak_secs(cases[1].2, "de", dir.path());
    assert!((en_for_de - de).abs() > 0.1, "en {en_for_de:.2} s vs de {de:.2} s");
}

#[test]
fn say_without_a_speaker_or_voice_names_the_fix() {
    let dir = support::tempdir();
    let config = dir.path().join("config.toml");
    let fails_with = |config_text: &str, needles: &[&str]| {
        std::fs::write(&config, config_text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(["say", "--config"])
            .arg(&config)
            .arg("hello")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(needles.iter().all(|n| stderr.contains(n)), "{stderr}");
    };
    fails_with("[feedback]\ndevice = \"no-such-speaker\"\n", &["no-such-speaker", "hearth doctor"]);
    fails_with("[voice]\nespeak = \"/nonexistent/espeak-ng\"\n", &["apt-get install espeak-ng"]);
}
