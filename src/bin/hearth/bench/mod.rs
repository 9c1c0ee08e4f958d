//! `hearth bench`: the measurements behind BENCHMARKS.md.
//!
//! This file is `hearth bench stt`: speech-to-text speed and accuracy on command clips, Hearth's
//! tuned decoding against whisper.cpp's defaults on the same model file, in one process and one
//! run. Pairs run alternately so a busy machine slows both sides alike. `--serve` is the
//! measuring worker that bench/stt_compare.py drives clip by clip against faster-whisper
//! (bench/peers_stt.py). [`intent`] is `hearth bench intent`, [`wake`] `hearth bench wake`.

pub mod intent;
pub mod wake;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use hearth::audio::{self, Samples};
use hearth::measure::{WordErrors, median, percentile, word_errors};
use hearth::stt::{Decoding, SttError, SttOptions, Transcriber, Transcript};

/// One clip's measurements.
#[derive(Debug, Clone)]
pub struct ClipResult {
    /// The WAV file.
    pub file: PathBuf,
    /// Clip length.
    pub audio_ms: u64,
    /// Reference text from `<file>.txt`, if present.
    pub reference: Option<String>,
    /// Per-run STT times, tuned.
    pub tuned_ms: Vec<f64>,
    /// Per-run STT times, whisper.cpp defaults.
    pub default_ms: Vec<f64>,
    /// Tuned transcript (last run).
    pub tuned_text: String,
    /// Default transcript (last run).
    pub default_text: String,
}

/// What `run_stt` measured.
#[derive(Debug, Clone)]
pub struct SttBench {
    /// Model file.
    pub model: PathBuf,
    /// Threads used.
    pub threads: u32,
    /// Model load times (tuned transcriber, default transcriber), ms.
    pub load_ms: [f64; 2],
    /// Per-clip results.
    pub clips: Vec<ClipResult>,
}

/// Errors of the benchmark: a clip or the model.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A clip could not be read.
    #[error(transparent)]
    Audio(#[from] audio::AudioError),
    /// whisper failed.
    #[error(transparent)]
    Stt(#[from] SttError),
    /// Reading requests or writing answers (`--serve`) failed.
    #[error("bench stt --serve: {0}")]
    Io(#[from] std::io::Error),
}

/// The model loaded twice, with tuned and with whisper.cpp's default decoding, each with its
/// load time in ms.
fn load_both(
    model: &Path,
    language: hearth::config::SttLanguage,
    threads: u32,
) -> Result<[(Transcriber, f64); 2], SttError> {
    let load = |decoding| -> Result<(Transcriber, f64), SttError> {
        let started = Instant::now();
        let t = Transcriber::load(&SttOptions { model: model.to_path_buf(), language, threads, decoding })?;
        Ok((t, started.elapsed().as_secs_f64() * 1000.0))
    };
    Ok([load(Decoding::Tuned)?, load(Decoding::WhisperDefault)?])
}

/// Loads the model twice (tuned and default decoding), then transcribes every clip `runs` times
/// with each, alternating which goes first. One warm-up pass is not counted.
pub fn run_stt(
    model: &Path,
    language: hearth::config::SttLanguage,
    threads: u32,
    files: &[PathBuf],
    runs: usize,
) -> Result<SttBench, BenchError> {
    let [(mut tuned, tuned_load), (mut default, default_load)] = load_both(model, language, threads)?;
    let clips: Vec<(PathBuf, Samples, Option<String>)> = files
        .iter()
        .map(|f| {
            let reference = std::fs::read_to_string(f.with_extension("txt")).ok().map(|s| s.trim().to_string());
            Ok((f.clone(), audio::read_wav(f)?, reference))
        })
        .collect::<Result<_, audio::AudioError>>()?;

    let mut results: Vec<ClipResult> = clips
        .iter()
        .map(|(file, samples, reference)| ClipResult {
            file: file.clone(),
            audio_ms: samples.len() as u64 * 1000 / audio::SAMPLE_RATE as u64,
            reference: reference.clone(),
            tuned_ms: Vec::new(),
            default_ms: Vec::new(),
            tuned_text: String::new(),
            default_text: String::new(),
        })
        .collect();

    let timed = |t: &mut Transcriber, s: &[f32]| -> Result<(Transcript, f64), SttError> {
        let started = Instant::now();
        let out = t.transcribe(s)?;
        Ok((out, started.elapsed().as_secs_f64() * 1000.0))
    };
    if let Some((_, samples, _)) = clips.first() {
        timed(&mut tuned, samples)?;
        timed(&mut default, samples)?;
    }
    for run in 0..runs {
        for (i, (_, samples, _)) in clips.iter().enumerate() {
            let tuned_first = (run + i) % 2 == 0;
            let (a, b) = if tuned_first { (&mut tuned, &mut default) } else { (&mut default, &mut tuned) };
            let first = timed(a, samples)?;
            let second = timed(b, samples)?;
            let ((t_out, t_ms), (d_out, d_ms)) = if tuned_first { (first, second) } else { (second, first) };
            let r = &mut results[i];
            r.tuned_ms.push(t_ms);
            r.default_ms.push(d_ms);
            r.tuned_text = t_out.text;
            r.default_text = d_out.text;
        }
    }
    Ok(SttBench { model: model.to_path_buf(), threads, load_ms: [tuned_load, default_load], clips: results })
}

/// One request to [`serve_stt`], a JSON object per line.
#[derive(Debug, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum ServeRequest {
    /// Transcribe a WAV file with `config` (`tuned` or `default`) and time it.
    Transcribe { config: String, file: PathBuf },
    /// Word errors of `text` against `reference` ([`word_errors`]), so every peer is scored alike.
    Score { reference: String, text: String },
}

/// `hearth bench stt --serve`: loads the model twice (tuned and whisper.cpp default decoding),
/// prints `{"ready":true,"load_ms":[tuned,default]}`, then answers one JSON line per request line
/// until end of input:
///
/// - `{"op":"transcribe","config":"tuned"|"default","file":"clip.wav"}` →
///   `{"ms":…,"text":…,"audio_ms":…}`, `ms` being the wall time of the transcription alone (the
///   WAV is read, and kept for later requests, before the clock starts);
/// - `{"op":"score","reference":…,"text":…}` → `{"errors":…,"words":…}`;
/// - anything that fails → `{"error":"…"}`, and the worker goes on.
///
/// An outside driver can so interleave Hearth with other engines clip by clip, each in its own
/// process, without ever running two at once.
pub fn serve_stt(
    model: &Path,
    language: hearth::config::SttLanguage,
    threads: u32,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<(), BenchError> {
    let [(mut tuned, tuned_load), (mut default, default_load)] = load_both(model, language, threads)?;
    writeln!(output, "{}", serde_json::json!({"ready": true, "load_ms": [tuned_load, default_load]}))?;
    output.flush()?;
    let mut clips: HashMap<PathBuf, Samples> = HashMap::new();
    for line in input.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<ServeRequest>(&line) {
            Err(e) => serde_json::json!({"error": format!("bad request: {e}")}),
            Ok(ServeRequest::Score { reference, text }) => {
                let w = word_errors(&reference, &text);
                serde_json::json!({"errors": w.errors, "words": w.words})
            }
            Ok(ServeRequest::Transcribe { config, file }) => {
                let transcriber = match config.as_str() {
                    "tuned" => Some(&mut tuned),
                    "default" => Some(&mut default),
                    _ => None,
                };
                match transcriber {
                    None => serde_json::json!({"error": format!("unknown config {config:?}: tuned or default")}),
                    Some(t) => match serve_one(t, &mut clips, file) {
                        Ok(json) => json,
                        Err(e) => serde_json::json!({"error": e.to_string()}),
                    },
                }
            }
        };
        writeln!(output, "{answer}")?;
        output.flush()?;
    }
    Ok(())
}

/// Reads (once) and transcribes one clip for [`serve_stt`], timing only the transcription.
fn serve_one(
    t: &mut Transcriber,
    clips: &mut HashMap<PathBuf, Samples>,
    file: PathBuf,
) -> Result<serde_json::Value, BenchError> {
    let samples = match clips.entry(file) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let s = audio::read_wav(e.key())?;
            e.insert(s)
        }
    };
    let audio_ms = samples.len() as u64 * 1000 / audio::SAMPLE_RATE as u64;
    let started = Instant::now();
    let out = t.transcribe(samples)?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(serde_json::json!({"ms": ms, "text": out.text, "audio_ms": audio_ms}))
}

impl SttBench {
    /// A Markdown report: per-clip rows and a summary.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let name = self.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push_str(&format!(
            "model `{name}`, {} thread(s), {} clips, load {:.0} ms\n\n",
            self.threads,
            self.clips.len(),
            self.load_ms[0]
        ));
        out.push_str("| clip | audio ms | tuned ms | default ms | default/tuned | tuned text | default text |\n");
        out.push_str("|---|---:|---:|---:|---:|---|---|\n");
        let (mut ratios, mut tuned_all, mut default_all, mut rtf) = (vec![], vec![], vec![], vec![]);
        let (mut wer_tuned, mut wer_default) = (WordErrors::default(), WordErrors::default());
        for c in &self.clips {
            let (t, d) = (median(&c.tuned_ms), median(&c.default_ms));
            ratios.push(d / t);
            tuned_all.push(t);
            default_all.push(d);
            rtf.push(t / c.audio_ms.max(1) as f64);
            if let Some(reference) = &c.reference {
                wer_tuned.add(word_errors(reference, &c.tuned_text));
                wer_default.add(word_errors(reference, &c.default_text));
            }
            let clip = c.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push_str(&format!(
                "| {clip} | {} | {t:.0} | {d:.0} | {:.1}× | {} | {} |\n",
                c.audio_ms,
                d / t,
                c.tuned_text,
                c.default_text
            ));
        }
        let min_max = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(0.0, f64::max);
            format!("{lo:.0}–{hi:.0}")
        };
        out.push_str(&format!(
            "\n| summary ({name}, {} thread(s)) | tuned | whisper.cpp defaults |\n|---|---:|---:|\n",
            self.threads
        ));
        out.push_str(&format!("| model load, ms | {:.0} | {:.0} |\n", self.load_ms[0], self.load_ms[1]));
        out.push_str(&format!("| STT median, ms | {:.0} | {:.0} |\n", median(&tuned_all), median(&default_all)));
        out.push_str(&format!(
            "| STT p90, ms | {:.0} | {:.0} |\n",
            percentile(&tuned_all, 90.0),
            percentile(&default_all, 90.0)
        ));
        out.push_str(&format!("| STT min–max, ms | {} | {} |\n", min_max(&tuned_all), min_max(&default_all)));
        let (mid_tuned, mid_default): (Vec<f64>, Vec<f64>) = self
            .clips
            .iter()
            .filter(|c| (2000..=3000).contains(&c.audio_ms))
            .map(|c| (median(&c.tuned_ms), median(&c.default_ms)))
            .unzip();
        if !mid_tuned.is_empty() {
            out.push_str(&format!(
                "| STT median, 2–3 s clips only ({}), ms | {:.0} | {:.0} |\n",
                mid_tuned.len(),
                median(&mid_tuned),
                median(&mid_default)
            ));
        }
        out.push_str(&format!("| real-time factor (median) | {:.3} | |\n", median(&rtf)));
        if wer_tuned.words > 0 {
            out.push_str(&format!(
                "| word error rate | {:.1}% ({}/{}) | {:.1}% ({}/{}) |\n",
                wer_tuned.percent(),
                wer_tuned.errors,
                wer_tuned.words,
                wer_default.percent(),
                wer_default.errors,
                wer_default.words
            ));
        }
        out.push_str(&format!(
            "| speed-up default/tuned, pairwise median (min–max) | {:.1}× ({:.1}–{:.1}) | |\n",
            median(&ratios),
            ratios.iter().copied().fold(f64::INFINITY, f64::min),
            ratios.iter().copied().fold(0.0, f64::max)
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_requests_parse_and_reject_strays() {
        let t: ServeRequest =
            serde_json::from_str(r#"{"op":"transcribe","config":"tuned","file":"a.wav"}"#).expect("transcribe");
        assert!(matches!(t, ServeRequest::Transcribe { ref config, .. } if config == "tuned"));
        let s: ServeRequest = serde_json::from_str(r#"{"op":"score","reference":"a b","text":"a"}"#).expect("score");
        assert!(matches!(s, ServeRequest::Score { .. }));
        assert!(serde_json::from_str::<ServeRequest>(r#"{"op":"score","reference":"a"}"#).is_err());
        assert!(
            serde_json::from_str::<ServeRequest>(r#"{"op":"transcribe","config":"tuned","file":"a","x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<ServeRequest>(r#"{"op":"load"}"#).is_err());
    }
}
