//! `hearth bench wake`: detection rate on wake-word clips, false wakes per hour on other
//! audio, and CPU time per second of audio, for one [`WakeDetector`] on one thread.
//! `bench/wake` synthesises the audio and puts these figures beside the Python package's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use hearth::audio::{BLOCK_SAMPLES, SAMPLE_RATE};
use hearth::wake::{WakeDetector, WakeOptions};

/// What to measure.
#[derive(Debug, Clone)]
pub struct WakeBenchOptions {
    /// The detector to measure.
    pub detector: WakeOptions,
    /// Clips with one wake-word utterance each.
    pub positives: Vec<PathBuf>,
    /// Audio without the wake word (speech, noise); every detection is a false wake.
    pub negatives: Vec<PathBuf>,
}

/// One file's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    /// The WAV file.
    pub file: PathBuf,
    /// Whether it holds the wake word.
    pub positive: bool,
    /// Its length in seconds.
    pub audio_s: f64,
    /// Thread CPU time spent in [`WakeDetector::process`], in seconds.
    pub cpu_s: f64,
    /// When each detection fired, in seconds from the start of the file (end of its block).
    pub detections: Vec<f64>,
    /// The highest score of any block.
    pub max_score: f32,
    /// Every block's score, in order (only with `keep_scores`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<f32>,
}

/// All files' outcomes and the figures derived from them.
#[derive(Debug, Clone, Serialize)]
pub struct WakeBenchReport {
    /// The wake word's name.
    pub model: String,
    /// Detection threshold used.
    pub threshold: f32,
    /// Time to load and optimise the three networks, in seconds.
    pub load_s: f64,
    /// Per file, positives first.
    pub files: Vec<FileResult>,
}

/// Runs every file through a fresh detector state (reset before each file) and measures.
/// With `keep_scores`, every block's score is kept (for comparing with another
/// implementation).
pub fn run(options: &WakeBenchOptions, keep_scores: bool) -> anyhow::Result<WakeBenchReport> {
    let started = Instant::now();
    let mut detector = WakeDetector::load(&options.detector)?;
    let load_s = started.elapsed().as_secs_f64();
    let mut files = Vec::new();
    let groups = [(true, &options.positives), (false, &options.negatives)];
    for (positive, paths) in groups {
        for path in paths {
            files.push(measure_file(&mut detector, path, positive, keep_scores)?);
        }
    }
    Ok(WakeBenchReport { model: detector.name().to_owned(), threshold: options.detector.threshold, load_s, files })
}

fn measure_file(detector: &mut WakeDetector, path: &Path, positive: bool, keep: bool) -> anyhow::Result<FileResult> {
    let audio = hearth::audio::read_wav(path)?;
    detector.reset();
    let mut detections = Vec::new();
    let mut scores = Vec::with_capacity(if keep { audio.len() / BLOCK_SAMPLES + 1 } else { 0 });
    let mut max_score = 0.0f32;
    let cpu = ThreadCpu::start();
    for (i, block) in audio.chunks(BLOCK_SAMPLES).enumerate() {
        if detector.process(block).is_some() {
            detections.push(((i * BLOCK_SAMPLES + block.len()) as f64) / f64::from(SAMPLE_RATE));
        }
        let score = detector.last_score();
        max_score = max_score.max(score);
        if keep {
            scores.push(score);
        }
    }
    let cpu_s = cpu.elapsed().as_secs_f64();
    Ok(FileResult {
        file: path.to_owned(),
        positive,
        audio_s: audio.len() as f64 / f64::from(SAMPLE_RATE),
        cpu_s,
        detections,
        max_score,
        scores,
    })
}

impl WakeBenchReport {
    /// Positive clips with at least one detection.
    pub fn detected(&self) -> usize {
        self.positives().filter(|f| !f.detections.is_empty()).count()
    }

    /// Detections beyond the first in positive clips (the same utterance firing twice).
    pub fn extra_on_positives(&self) -> usize {
        self.positives().map(|f| f.detections.len().saturating_sub(1)).sum()
    }

    /// Detections in the negative audio.
    pub fn false_wakes(&self) -> usize {
        self.negatives().map(|f| f.detections.len()).sum()
    }

    /// Hours of negative audio.
    pub fn negative_hours(&self) -> f64 {
        self.negatives().map(|f| f.audio_s).sum::<f64>().max(0.0) / 3600.0
    }

    /// CPU seconds per second of audio, over all files.
    pub fn cpu_per_audio_second(&self) -> f64 {
        let audio: f64 = self.files.iter().map(|f| f.audio_s).sum();
        let cpu: f64 = self.files.iter().map(|f| f.cpu_s).sum();
        if audio > 0.0 { cpu / audio } else { 0.0 }
    }

    fn positives(&self) -> impl Iterator<Item = &FileResult> {
        self.files.iter().filter(|f| f.positive)
    }

    fn negatives(&self) -> impl Iterator<Item = &FileResult> {
        self.files.iter().filter(|f| !f.positive)
    }

    /// A Markdown summary: one table row of figures, then each positive clip's best score.
    pub fn markdown(&self) -> String {
        let positives = self.positives().count();
        let hours = self.negative_hours();
        let mut out = String::new();
        out.push_str("| model | threshold | detected | extra detections | false wakes | negative audio | false wakes/hour | CPU per audio second | load |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        out.push_str(&format!(
            "| {} | {} | {}/{} ({:.1} %) | {} | {} | {:.1} min | {:.2} | {:.2} % of one core | {:.2} s |\n",
            self.model,
            self.threshold,
            self.detected(),
            positives,
            100.0 * self.detected() as f64 / positives.max(1) as f64,
            self.extra_on_positives(),
            self.false_wakes(),
            hours * 60.0,
            if hours > 0.0 { self.false_wakes() as f64 / hours } else { 0.0 },
            100.0 * self.cpu_per_audio_second(),
            self.load_s
        ));
        out.push_str("\n| clip | best score | detections |\n|---|---:|---:|\n");
        for f in self.positives() {
            let name = f.file.file_name().map_or_else(|| f.file.display().to_string(), |n| n.to_string_lossy().into());
            out.push_str(&format!("| {name} | {:.4} | {} |\n", f.max_score, f.detections.len()));
        }
        for f in self.negatives().filter(|f| !f.detections.is_empty()) {
            let name = f.file.file_name().map_or_else(|| f.file.display().to_string(), |n| n.to_string_lossy().into());
            let at: Vec<String> = f.detections.iter().map(|t| format!("{t:.1} s")).collect();
            out.push_str(&format!("\nFalse wakes in {name} at {}\n", at.join(", ")));
        }
        out
    }
}

/// CPU time of the calling thread, from `/proc/thread-self/schedstat` (nanoseconds on CPU; the
/// kernel brings it up to date at scheduler ticks, so one reading may lag by a few
/// milliseconds, which averages out over many files). Falls back to wall-clock time where
/// that file cannot be read.
struct ThreadCpu {
    cpu_ns: Option<u64>,
    wall: Instant,
}

impl ThreadCpu {
    fn start() -> Self {
        ThreadCpu { cpu_ns: thread_cpu_ns(), wall: Instant::now() }
    }

    fn elapsed(&self) -> Duration {
        match (self.cpu_ns, thread_cpu_ns()) {
            (Some(start), Some(now)) => Duration::from_nanos(now.saturating_sub(start)),
            _ => self.wall.elapsed(),
        }
    }
}

fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(positive: bool, audio_s: f64, cpu_s: f64, detections: &[f64]) -> FileResult {
        FileResult {
            file: PathBuf::from(if positive { "p.wav" } else { "n.wav" }),
            positive,
            audio_s,
            cpu_s,
            detections: detections.to_vec(),
            max_score: if detections.is_empty() { 0.1 } else { 0.9 },
            scores: Vec::new(),
        }
    }

    #[test]
    fn figures_add_up() {
        let report = WakeBenchReport {
            model: "hey_jarvis".into(),
            threshold: 0.5,
            load_s: 0.2,
            files: vec![
                file(true, 3.0, 0.1, &[1.2]),
                file(true, 3.0, 0.1, &[]),
                file(true, 3.0, 0.1, &[1.0, 2.5]),
                file(false, 1800.0, 30.0, &[100.0]),
                file(false, 1791.0, 29.7, &[]),
            ],
        };
        assert_eq!(report.detected(), 2);
        assert_eq!(report.extra_on_positives(), 1);
        assert_eq!(report.false_wakes(), 1);
        assert!((report.negative_hours() - 0.9975).abs() < 1e-9);
        assert!((report.cpu_per_audio_second() - 60.0 / 3600.0).abs() < 1e-9);
        let md = report.markdown();
        assert!(
            md.contains("| hey_jarvis | 0.5 | 2/3 (66.7 %) | 1 | 1 | 59.9 min | 1.00 | 1.67 % of one core |"),
            "{md}"
        );
        assert!(md.contains("False wakes in n.wav at 100.0 s"), "{md}");
    }

    #[test]
    fn thread_cpu_time_moves_forward() {
        // The kernel updates a running thread's CPU time at scheduler ticks, so burn well over
        // one tick of CPU before looking.
        let cpu = ThreadCpu::start();
        let wall = Instant::now();
        let mut x = 0u64;
        while wall.elapsed() < Duration::from_millis(100) {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        assert!(cpu.elapsed() > Duration::from_millis(5), "{:?}", cpu.elapsed());
    }
}
