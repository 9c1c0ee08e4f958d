//! Speech-to-text with real whisper models on speech synthesised at test time: English with the
//! imported tiny.en, German and language detection with the imported multilingual base, the
//! same text from a 44.1 kHz stereo file as from its 16 kHz mono twin, no text from silence or
//! noise, and clear errors for bad files — through the library and through `hearth transcribe`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use hearth::config::SttLanguage;
use hearth::measure::{WordErrors, score_words, word_errors};
use hearth::stt::{Decoding, SttError, SttOptions, Transcriber};
use support::Lang;

/// Threads per transcriber: tests run side by side on two cores, and whisper.cpp's pool
/// busy-waits, so more than one thread per test would slow everything down.
const THREADS: u32 = 1;

fn transcriber(model: &Path, language: SttLanguage) -> Transcriber {
    let options = SttOptions { model: model.to_path_buf(), language, threads: THREADS, decoding: Decoding::Tuned };
    Transcriber::load(&options).expect("model loads")
}

fn transcribe(t: &mut Transcriber, wav: &Path) -> hearth::stt::Transcript {
    let audio = hearth::audio::read_wav(wav).expect("synthesised WAV reads");
    t.transcribe(&audio).expect("whisper runs")
}

/// The command sentences with numbers written as digits, as whisper writes them, for scoring.
fn as_whisper_writes(sentence: &str) -> String {
    sentence
        .replace("fifty percent", "50%")
        .replace("twenty one degrees", "21 degrees")
        .replace("five minutes", "5 minutes")
        .replace("fünfzig Prozent", "50%")
        .replace("einundzwanzig Grad", "21 Grad")
        .replace("fünf Minuten", "5 Minuten")
}

/// Transcribes every command of `lang` in several voices; returns the errors and prints each miss.
fn corpus_errors(t: &mut Transcriber, lang: Lang, voices: &[&str]) -> (WordErrors, usize, usize) {
    let dir = support::tempdir();
    let mut total = WordErrors::default();
    let (mut exact, mut clips) = (0, 0);
    for (i, sentence) in support::commands(lang).iter().enumerate() {
        let voice = voices[i % voices.len()];
        let wav = support::espeak(sentence, voice, 175, &dir.path().join(format!("{i}.wav")));
        let out = transcribe(t, &wav);
        let reference = as_whisper_writes(sentence);
        let errors = word_errors(&reference, &out.text);
        if errors.errors == 0 {
            exact += 1;
        } else {
            eprintln!("[{voice}] {reference:?} -> {:?}", out.text);
        }
        total.add(errors);
        clips += 1;
    }
    (total, exact, clips)
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn english_commands_are_transcribed_by_imported_tiny_en() {
    let model = support::model("ggml-tiny.en.bin");
    let mut t = transcriber(&model, SttLanguage::EN);
    let (errors, exact, clips) = corpus_errors(&mut t, Lang::En, support::EN_VOICES);
    eprintln!("tiny.en, espeak-ng voices: {exact}/{clips} exact, word error rate {:.1}%", errors.percent());
    // Measured: 8/12 exact, 15.8% (whisper.cpp's default decoding: 22.8% on the same clips).
    // The misses are espeak-ng's female variants, which tiny.en finds hard.
    assert!(exact * 10 >= clips * 6, "at least 60% of commands word for word, got {exact}/{clips}");
    assert!(errors.percent() <= 20.0, "word error rate {:.1}% above 20%", errors.percent());
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn the_key_command_is_exact_in_every_english_voice() {
    let model = support::model("ggml-tiny.en.bin");
    let mut t = transcriber(&model, SttLanguage::EN);
    let dir = support::tempdir();
    for voice in support::EN_VOICES {
        let wav = support::espeak("turn on the kitchen light", voice, 175, &dir.path().join(format!("{voice}.wav")));
        let text = transcribe(&mut t, &wav).text;
        assert_eq!(score_words(&text), score_words("turn on the kitchen light"), "voice {voice}: {text:?}");
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn neural_piper_voice_is_transcribed() {
    let model = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let wav = support::piper("turn off the living room lights", &dir.path().join("piper.wav"));
    let mut t = transcriber(&model, SttLanguage::EN);
    let text = transcribe(&mut t, &wav).text;
    assert_eq!(score_words(&text), score_words("turn off the living room lights"), "{text:?}");
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn q8_0_model_gives_the_same_words() {
    let (f16, q8) = (support::model("ggml-tiny.en.bin"), support::model("ggml-tiny.en-q8_0.bin"));
    let dir = support::tempdir();
    let (mut a, mut b) = (transcriber(&f16, SttLanguage::EN), transcriber(&q8, SttLanguage::EN));
    for (i, sentence) in support::EN_COMMANDS.iter().take(6).enumerate() {
        let wav = support::espeak(sentence, "en-us", 175, &dir.path().join(format!("{i}.wav")));
        let (x, y) = (transcribe(&mut a, &wav).text, transcribe(&mut b, &wav).text);
        assert_eq!(score_words(&x), score_words(&y), "f16 {x:?} vs q8_0 {y:?}");
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn german_commands_are_transcribed_by_imported_base() {
    let model = support::model("ggml-base.bin");
    let mut t = transcriber(&model, SttLanguage::DE);
    let (errors, exact, clips) = corpus_errors(&mut t, Lang::De, support::DE_VOICES);
    eprintln!("base, German espeak-ng voices: {exact}/{clips} exact, word error rate {:.1}%", errors.percent());
    // Measured: 47–51% for base on espeak-ng's German voices, the same with whisper.cpp's
    // default decoding (BENCHMARKS.md): the robotic German voice and the small model, not the
    // tuning. The bound catches a broken import or decoding (which gives ~100%).
    assert!(errors.percent() <= 55.0, "word error rate {:.1}% above 55%", errors.percent());
    // The sentence every German user tries first: at every speed the device and the room must
    // come through (base writes e.g. "Schalter das Licht in der Küche ein." at 170 wpm, and on
    // some CPUs glues the device word to the misheard verb at 130: "Schaltermaslicht").
    let dir = support::tempdir();
    for speed in [130, 150, 170] {
        let wav = support::espeak("schalte das Licht in der Küche ein", "de", speed, &dir.path().join("k.wav"));
        let text = transcribe(&mut t, &wav).text;
        let words = score_words(&text);
        assert!(
            words.iter().any(|w| w.ends_with("licht")) && words.iter().any(|w| w.ends_with("küche")),
            "{speed}: {text:?}"
        );
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn auto_detects_german_and_english() {
    let model = support::model("ggml-base.bin");
    let mut t = transcriber(&model, SttLanguage::Auto);
    let dir = support::tempdir();
    let de =
        support::espeak("stelle die Heizung im Wohnzimmer auf zwanzig Grad", "de", 150, &dir.path().join("de.wav"));
    let en = support::espeak("what is the temperature in the living room", "en-us", 160, &dir.path().join("en.wav"));
    let (de_out, en_out) = (transcribe(&mut t, &de), transcribe(&mut t, &en));
    assert_eq!(de_out.language, "de", "{de_out:?}");
    assert_eq!(en_out.language, "en", "{en_out:?}");
    assert!(score_words(&de_out.text).contains(&"heizung".to_string()), "{de_out:?}");
    assert!(score_words(&en_out.text).contains(&"temperature".to_string()), "{en_out:?}");
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn stereo_44k1_gives_the_same_text_as_its_16k_mono_twin() {
    let model = support::model("ggml-tiny.en.bin");
    let mut t = transcriber(&model, SttLanguage::EN);
    let dir = support::tempdir();
    for (i, sentence) in ["turn on the kitchen light", "what is the temperature in the living room"].iter().enumerate()
    {
        let raw = support::espeak(sentence, "en-gb", 170, &dir.path().join(format!("raw{i}.wav")));
        let mono = support::sox_convert(&raw, &dir.path().join(format!("mono{i}.wav")), 16_000, 1, 16);
        let stereo = support::sox_convert(&raw, &dir.path().join(format!("stereo{i}.wav")), 44_100, 2, 16);
        let (a, b) = (transcribe(&mut t, &mono), transcribe(&mut t, &stereo));
        assert!(!a.text.is_empty());
        assert_eq!(
            score_words(&a.text),
            score_words(&b.text),
            "16 kHz mono {:?} vs 44.1 kHz stereo {:?}",
            a.text,
            b.text
        );
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn silence_hum_and_noise_give_empty_text() {
    let model = support::model("ggml-tiny.en.bin");
    let base = support::model("ggml-base.bin");
    let dir = support::tempdir();
    let mut clips: Vec<PathBuf> = vec![support::silence(3.0, &dir.path().join("silence.wav"))];
    for (i, amplitude) in [0.02f32, 0.05, 0.1, 0.3, 0.6].iter().enumerate() {
        clips.push(support::white_noise(2.5, *amplitude, &dir.path().join(format!("white{i}.wav"))));
    }
    for (i, level) in [0.01, 0.05, 0.2].iter().enumerate() {
        clips.push(support::pink_noise(2.5, *level, &dir.path().join(format!("pink{i}.wav"))));
    }
    let hum: Vec<f32> =
        (0..48_000).map(|n| 0.2 * (2.0 * std::f32::consts::PI * 50.0 * n as f32 / 16_000.0).sin()).collect();
    clips.push(support::write_wav(&dir.path().join("hum.wav"), &hum, 16_000, 1));
    for (model, language) in [(&model, SttLanguage::EN), (&base, SttLanguage::Auto)] {
        let mut t = transcriber(model, language);
        for clip in &clips {
            let out = transcribe(&mut t, clip);
            assert_eq!(out.text, "", "{} on {}: {out:?}", model.display(), clip.display());
        }
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn german_needs_a_multilingual_model() {
    let model = support::model("ggml-tiny.en.bin");
    let options = SttOptions { model, language: SttLanguage::DE, threads: 1, decoding: Decoding::Tuned };
    let err = Transcriber::load(&options).err().expect("German with tiny.en is refused");
    assert!(matches!(err, SttError::EnglishOnlyModel { .. }));
    assert!(err.to_string().contains("multilingual"), "{err}");
}

// --- the `hearth transcribe` command ---------------------------------------------------------

fn hearth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HEARTH_CONFIG")
        .current_dir(support::repo_root())
        .output()
        .expect("run hearth")
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn cli_prints_one_json_object_per_file() {
    let model = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let a = support::espeak("turn on the kitchen light", "en-us", 175, &dir.path().join("a.wav"));
    let b = support::silence(2.0, &dir.path().join("b.wav"));
    let out = hearth(&[
        "transcribe",
        "--json",
        "--threads",
        "1",
        "--model",
        model.to_str().unwrap(),
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["file"], a.display().to_string());
    assert_eq!(score_words(lines[0]["text"].as_str().unwrap()), score_words("turn on the kitchen light"));
    assert_eq!(lines[0]["language"], "en");
    assert!(lines[0]["audio_ms"].as_u64().unwrap() > 1000);
    assert!(lines[0]["stt_ms"].is_u64());
    assert_eq!(lines[1]["text"], "");
    assert_eq!(lines[1]["audio_ms"], 2000);
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn cli_reports_bad_files_by_name_and_goes_on() {
    let model = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "this is not audio\n").unwrap();
    let good = support::espeak("turn on the kitchen light", "en-us", 175, &dir.path().join("good.wav"));
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.wav");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.path().join("missing.wav");
    let out = hearth(&[
        "transcribe",
        "--threads",
        "1",
        "--model",
        model.to_str().unwrap(),
        text.to_str().unwrap(),
        cut.to_str().unwrap(),
        missing.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("notes.wav") && stderr.contains("not a WAV file"), "{stderr}");
    assert!(stderr.contains("cut.wav") && stderr.contains("truncated"), "{stderr}");
    assert!(stderr.contains("missing.wav"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("good.wav") && stdout.to_lowercase().contains("kitchen light"), "{stdout}");
}

#[test]
fn cli_missing_model_names_the_fix() {
    let dir = support::tempdir();
    let wav = support::silence(1.0, &dir.path().join("s.wav"));
    let out = hearth(&["transcribe", "--model", "models/nope.bin", wav.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("models/nope.bin") && stderr.contains("hearth model import"), "{stderr}");
}

#[test]
fn cli_bad_config_key_exits_2_naming_the_key() {
    let dir = support::tempdir();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[stt]\nthread = 2\n").unwrap();
    let wav = support::silence(1.0, &dir.path().join("s.wav"));
    let out = hearth(&["transcribe", "--config", config.to_str().unwrap(), wav.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("thread") && stderr.contains("config.toml"), "{stderr}");
}

/// The retention guarantee at the buffer owner: the STT worker wipes every clip once it is
/// transcribed. The hook sees the clip's own storage after the wipe: every sample is zero.
#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn the_worker_wipes_each_clip_after_transcribing_it() {
    let model = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let wav = support::espeak("turn on the kitchen light", "en-us", 160, &dir.path().join("c.wav"));
    let audio = hearth::audio::read_wav(&wav).unwrap();
    let len = audio.len();
    assert!(audio.iter().any(|&s| s != 0.0));
    let transcriber = hearth::stt::Transcriber::load(&hearth::stt::SttOptions {
        model,
        language: hearth::config::SttLanguage::EN,
        threads: 2,
        decoding: hearth::stt::Decoding::Tuned,
    })
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = hearth::stt::SttWorker::spawn_inspected(transcriber, move |clip| {
        let _ = tx.send((clip.len(), clip.iter().all(|&s| s == 0.0)));
    })
    .unwrap();
    let transcript = worker.submit(audio).unwrap().wait().unwrap();
    assert!(transcript.text.to_lowercase().contains("kitchen"), "{}", transcript.text);
    let (seen, all_zero) = rx.recv().unwrap();
    assert_eq!(seen, len, "the hook saw the clip's own buffer");
    assert!(all_zero, "audio left in the clip after transcription");
}
