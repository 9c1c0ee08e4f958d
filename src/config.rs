//! `config.toml`: parsed in two stages — the raw file as written (every key optional, unknown
//! keys rejected by name), then [`RawConfig::validate`] into typed [`Settings`] that the rest of
//! the program uses. Key names are a contract (CONTRACTS.md §2); defaults live here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::intent::Language;

/// Everything that can be wrong with a config file. Each message names the file, the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named with `--config` (or `HEARTH_CONFIG`) could not be read.
    #[error("cannot read config file {path}: {source}; check the path given with --config")]
    Read { path: PathBuf, source: std::io::Error },
    /// TOML syntax error or unknown/mistyped key; `toml`'s message names the key and its line.
    #[error(
        "config file {path} is invalid: {message}\nfix: correct or remove that key; the documented keys are listed in the shipped config.toml"
    )]
    Parse { path: PathBuf, message: String },
    /// A key is present and well-typed but its value is not allowed.
    #[error("config file {path}: `{key}` = {value} is not allowed: {fix}")]
    Value { path: PathBuf, key: &'static str, value: String, fix: String },
    /// What a key names (a file, a folder, the sentences in it) cannot be used.
    #[error("config file {path}: `{key}`: {problem}")]
    Unusable { path: PathBuf, key: &'static str, problem: String },
}

/// The config file exactly as written. Every section and key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// `[audio]`: capture device and input gain.
    pub audio: RawAudio,
    /// `[wake]`: wake-word model and sensitivity.
    pub wake: RawWake,
    /// `[endpoint]`: when a spoken command is over.
    pub endpoint: RawEndpoint,
    /// `[stt]`: whisper model, language and threads.
    pub stt: RawStt,
    /// `[intent]`: sentence language.
    pub intent: RawIntent,
    /// `[mqtt]`: the broker; absent host means the embedded broker.
    pub mqtt: RawMqtt,
    /// `[site]`: where this satellite stands.
    pub site: RawSite,
    /// `[privacy]`: what happens to transcripts.
    pub privacy: RawPrivacy,
    /// `[feedback]`: chime and error tone.
    pub feedback: RawFeedback,
    /// `[voice]`: spoken answers and ringing timers.
    pub voice: RawVoice,
    /// `[[entity]]`: devices declared by hand, for setups without MQTT discovery.
    pub entity: Vec<RawEntity>,
    /// `[[area]]`: an area's floor and other names (discovery knows neither).
    pub area: Vec<RawArea>,
}

/// One `[[area]]`: `name = "Kitchen"`, `floor = "Ground Floor"`, `aliases = ["Kochecke"]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RawArea {
    /// The area, as entities name it.
    pub name: String,
    /// The floor it is on.
    pub floor: Option<String>,
    /// Other names for the area.
    pub aliases: Vec<String>,
    /// Other names for its floor ("upstairs" for "First Floor").
    pub floor_aliases: Vec<String>,
}

/// `[audio]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAudio {
    /// cpal input device name, or "default".
    pub device: Option<String>,
    /// Linear gain applied to captured samples.
    pub gain: Option<f32>,
}

/// `[wake]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawWake {
    /// openWakeWord model name (`hey_jarvis`, `alexa`, `hey_mycroft`) or path to an .onnx file.
    pub model: Option<String>,
    /// Score above which the wake word fires, 0–1.
    pub threshold: Option<f32>,
    /// Quiet time after a detection, e.g. "2s".
    pub refractory: Option<String>,
    /// Folder holding `melspectrogram.onnx`, `embedding_model.onnx` and the named models.
    pub models_dir: Option<PathBuf>,
}

/// `[endpoint]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawEndpoint {
    /// Trailing silence that ends a command, e.g. "0.7s".
    pub end_silence: Option<String>,
    /// Longest command; capture stops here even if the room is not quiet.
    pub max_command: Option<String>,
    /// Give up when no speech starts this long after the wake word.
    pub no_speech_timeout: Option<String>,
}

/// `[stt]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStt {
    /// Path to a whisper.cpp ggml model file.
    pub model: Option<PathBuf>,
    /// `en`, `de` or `auto`.
    pub language: Option<String>,
    /// whisper.cpp threads; never more than free cores (its pool busy-waits).
    pub threads: Option<u32>,
}

/// `[intent]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawIntent {
    /// `en` or `de`.
    pub language: Option<String>,
    /// Home Assistant's sentence data: a `home-assistant-intents` wheel or a folder of
    /// `<lang>.json` files (default: the pinned wheel in `models/`).
    pub data: Option<PathBuf>,
    /// Home Assistant custom sentences on top of the data: a folder of `<lang>/*.yaml`.
    pub custom_sentences: Option<PathBuf>,
    /// `[[intent.custom]]`: the user's own sentences, for built-in or new intents.
    pub custom: Vec<RawCustomIntent>,
    /// Locks that may be unlocked by voice, each named by its id (discovery `unique_id`) or by
    /// a name only it has: a name two locks share allows neither (for discovered entities; a
    /// `[[entity]]` says `allow_unlock = true` itself).
    pub allow_unlock: Vec<String>,
    /// Garage doors and gates that may be opened by voice, named as in `allow_unlock`.
    pub allow_open: Vec<String>,
}

/// One `[[intent.custom]]`: sentences in the template language of `src/intent/mod.rs`.
/// With a built-in name (`HassTurnOn`, ...) the sentences join that intent; any other name is
/// the user's own intent, which fires the "Voice command" event and can publish one message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomIntent {
    /// Intent name: a built-in Home Assistant intent or the user's own.
    pub name: String,
    /// Sentence templates.
    pub sentences: Vec<String>,
    /// `en` or `de`; default: `[intent] language`.
    pub language: Option<String>,
    /// Fixed slot values reported with the intent (e.g. `domain = "light"`).
    #[serde(default)]
    pub slots: toml::Table,
    /// Entity kinds `{name}`/`{area}` may target (built-in intents; default: the intent's own).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Own intents only: MQTT topic to publish to when the sentence matches.
    pub topic: Option<String>,
    /// Payload for `topic`; `{slot}` is replaced by the slot's value. Default: empty.
    pub payload: Option<String>,
}

/// `[mqtt]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMqtt {
    /// Broker host; absent = embedded broker on 127.0.0.1.
    pub host: Option<String>,
    /// Broker port.
    pub port: Option<u16>,
    /// Username for the broker.
    pub username: Option<String>,
    /// File holding the broker password (kept out of config.toml).
    pub password_file: Option<PathBuf>,
    /// CA certificate for TLS.
    pub tls_ca: Option<PathBuf>,
    /// Client certificate for TLS.
    pub tls_cert: Option<PathBuf>,
    /// Client key for TLS.
    pub tls_key: Option<PathBuf>,
    /// MQTT client id.
    pub client_id: Option<String>,
    /// Home Assistant discovery prefix.
    pub discovery_prefix: Option<String>,
}

/// `[site]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSite {
    /// Satellite id used in topics (`hearth/<id>/…`).
    pub id: Option<String>,
    /// Area the satellite stands in.
    pub area: Option<String>,
}

/// `[privacy]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawPrivacy {
    /// `discard`, `log` or `keep`.
    pub transcripts: Option<String>,
    /// How long kept transcripts live in memory, e.g. "24h".
    pub keep_for: Option<String>,
}

/// `[feedback]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawFeedback {
    /// Play chimes at all.
    pub enabled: Option<bool>,
    /// cpal output device name, or "default".
    pub device: Option<String>,
}

/// `[voice]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawVoice {
    /// `speak`, `chime` or `off`.
    pub answers: Option<String>,
    /// The espeak-ng program.
    pub espeak: Option<PathBuf>,
    /// Words per minute.
    pub speed: Option<u32>,
    /// Longest time a finished timer rings when nobody says "stop", e.g. "5m".
    pub ring_limit: Option<String>,
}

/// One `[[entity]]` as written. Other Home Assistant discovery keys are allowed and kept in
/// `discovery` for the command builder.
#[derive(Debug, Clone, Deserialize)]
pub struct RawEntity {
    /// What people say.
    pub name: String,
    /// Other names for it.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Area it is in.
    pub area: Option<String>,
    /// light, switch, fan, cover, climate, lock, scene, ...
    pub kind: String,
    /// Topic commands go to.
    pub command_topic: Option<String>,
    /// Discovery schema (`json` or `default`).
    pub schema: Option<String>,
    /// Locks only: this entry (and no other entity of the same name) may be unlocked by voice
    /// (default: refused).
    #[serde(default)]
    pub allow_unlock: bool,
    /// Garage doors and gates only: this entry may be opened by voice (default: refused).
    #[serde(default)]
    pub allow_open: bool,
    /// Any further discovery keys, as in HA MQTT discovery.
    #[serde(flatten)]
    pub discovery: toml::Table,
}

/// The `kind`s an `[[entity]]` may have (Home Assistant entity domains Hearth handles).
pub const ENTITY_KINDS: [&str; 12] = [
    "light",
    "switch",
    "fan",
    "cover",
    "climate",
    "lock",
    "scene",
    "button",
    "valve",
    "media_player",
    "sensor",
    "binary_sensor",
];

/// Speech-to-text language choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SttLanguage {
    /// One language, always (`en`, `de`, or any other language whisper knows).
    Fixed(Language),
    /// Let whisper detect it per utterance (multilingual models only).
    Auto,
}

impl SttLanguage {
    /// English.
    pub const EN: SttLanguage = SttLanguage::Fixed(Language::En);
    /// German.
    pub const DE: SttLanguage = SttLanguage::Fixed(Language::De);

    /// Parses `auto`, or a language code whisper knows (`en`, `de`, `fr`, `pt-BR` as `pt`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Some(Self::Auto);
        }
        let language = Language::parse(s)?;
        whisper_rs::get_lang_id(&language.base()).map(|_| Self::Fixed(language))
    }

    /// The whisper language code (`pt` for `pt-BR`), `None` for detection.
    pub fn code(self) -> Option<&'static str> {
        match self {
            // whisper's own table holds every code it knows, for the whole run.
            Self::Fixed(language) => whisper_rs::get_lang_id(&language.base()).and_then(whisper_rs::get_lang_str),
            Self::Auto => None,
        }
    }
}

/// What happens to transcripts once the intent is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptPolicy {
    /// Keep no text (default).
    Discard,
    /// Write them to the journal.
    Log,
    /// Keep in memory for `keep_for`.
    Keep,
}

/// Validated `[audio]`.
#[derive(Debug, Clone)]
pub struct AudioSettings {
    /// cpal device name or "default".
    pub device: String,
    /// Linear input gain (> 0).
    pub gain: f32,
}

/// Validated `[wake]`.
#[derive(Debug, Clone)]
pub struct WakeSettings {
    /// openWakeWord model name or path.
    pub model: String,
    /// Detection threshold in (0, 1).
    pub threshold: f32,
    /// No second detection within this time.
    pub refractory: Duration,
    /// Folder with the openWakeWord ONNX files, resolved against the config file's folder.
    pub models_dir: PathBuf,
}

/// Validated `[endpoint]`.
#[derive(Debug, Clone)]
pub struct EndpointSettings {
    /// Trailing silence that ends a command.
    pub end_silence: Duration,
    /// Longest command.
    pub max_command: Duration,
    /// No speech this long after the wake word: give up.
    pub no_speech_timeout: Duration,
}

/// Validated `[stt]`.
#[derive(Debug, Clone)]
pub struct SttSettings {
    /// ggml model file, resolved against the config file's folder.
    pub model: PathBuf,
    /// Language to transcribe.
    pub language: SttLanguage,
    /// whisper.cpp threads (≥ 1).
    pub threads: u32,
}

/// Validated `[mqtt]`.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// Broker host; `None` = embedded broker on 127.0.0.1.
    pub host: Option<String>,
    /// Broker port.
    pub port: u16,
    /// Username, if any.
    pub username: Option<String>,
    /// Password file, if any.
    pub password_file: Option<PathBuf>,
    /// TLS CA file.
    pub tls_ca: Option<PathBuf>,
    /// TLS client certificate.
    pub tls_cert: Option<PathBuf>,
    /// TLS client key.
    pub tls_key: Option<PathBuf>,
    /// MQTT client id.
    pub client_id: String,
    /// HA discovery prefix.
    pub discovery_prefix: String,
}

/// Validated `[privacy]`.
#[derive(Debug, Clone)]
pub struct PrivacySettings {
    /// Transcript handling.
    pub transcripts: TranscriptPolicy,
    /// Lifetime of kept transcripts.
    pub keep_for: Duration,
}

/// Validated `[feedback]`.
#[derive(Debug, Clone)]
pub struct FeedbackSettings {
    /// Play tones.
    pub enabled: bool,
    /// Output device.
    pub device: String,
}

/// How Hearth answers a command (`[voice] answers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Speak the answer (default); tones for the wake word and for errors stay.
    Speak,
    /// Tones only, as before there was a voice.
    Chime,
    /// Nothing after the command (the wake chime stays while `[feedback] enabled`).
    Off,
}

/// Validated `[voice]`.
#[derive(Debug, Clone)]
pub struct VoiceSettings {
    /// How commands are answered.
    pub answers: AnswerMode,
    /// The espeak-ng program (a name looked up on `PATH`, or a path).
    pub espeak: PathBuf,
    /// Words per minute.
    pub speed: u32,
    /// Longest time a finished timer rings.
    pub ring_limit: Duration,
}

/// `[voice] speed`: espeak-ng's own limits, in words per minute.
pub const VOICE_SPEED_RANGE: std::ops::RangeInclusive<u32> = 80..=450;
/// `[voice] ring_limit`: at least one ring, at most an hour.
pub const RING_LIMIT_RANGE: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(3600));

/// The validated configuration every other module reads.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Capture.
    pub audio: AudioSettings,
    /// Wake word.
    pub wake: WakeSettings,
    /// End of a command.
    pub endpoint: EndpointSettings,
    /// Speech-to-text.
    pub stt: SttSettings,
    /// Intent language.
    pub intent_language: Language,
    /// `[intent] custom_sentences`: Home Assistant custom sentence files, `<dir>/<lang>/*.yaml`.
    pub intent_custom_sentences: Option<PathBuf>,
    /// Home Assistant's sentence data, and whether the path was set (a default that is not
    /// there falls back to the built-in sentences; a path set and missing is an error).
    pub intent_data: (PathBuf, bool),
    /// Broker.
    pub mqtt: MqttSettings,
    /// Satellite id.
    pub site_id: String,
    /// Satellite area.
    pub site_area: Option<String>,
    /// Retention.
    pub privacy: PrivacySettings,
    /// Tones.
    pub feedback: FeedbackSettings,
    /// Spoken answers and timers.
    pub voice: VoiceSettings,
    /// Manually declared entities.
    pub entities: Vec<RawEntity>,
    /// Areas with their floors and aliases (`[[area]]`).
    pub areas: Vec<RawArea>,
    /// The user's own sentences and intents (`[[intent.custom]]`).
    pub intent_custom: Vec<RawCustomIntent>,
    /// Locks that may be unlocked by voice, by name or id.
    pub intent_allow_unlock: Vec<String>,
    /// Garage doors and gates that may be opened by voice, by name or id.
    pub intent_allow_open: Vec<String>,
}

/// The pinned sentence data (fetched by scripts/setup-test-env), relative to the config file's
/// folder (or the working directory).
pub const DEFAULT_INTENT_DATA: &str = "models/home_assistant_intents-2026.10.27-py3-none-any.whl";

/// The default model path, relative to the config file's folder (or the working directory).
pub const DEFAULT_MODEL: &str = "models/ggml-tiny.en.bin";

/// `[wake] refractory`: none at all up to a minute (longer would swallow the next command).
pub const REFRACTORY_RANGE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(60));
/// `[endpoint] end_silence`: shorter cuts words at a breath, longer feels unresponsive.
pub const END_SILENCE_RANGE: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));
/// `[endpoint] max_command`: whisper's window is 30 s.
pub const MAX_COMMAND_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(30));
/// `[endpoint] no_speech_timeout`.
pub const NO_SPEECH_TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(30));
/// `[privacy] keep_for`: kept transcripts live in memory for a week at most.
pub const KEEP_FOR_RANGE: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(7 * 86_400));
/// `[stt] threads` and `--threads`. The loader further caps the count at the cores available
/// ([`crate::stt::available_cores`]), because whisper.cpp's pool busy-waits.
pub const STT_THREADS_RANGE: std::ops::RangeInclusive<u32> = 1..=64;

/// A duration as a config file would write it: "0s", "200ms", "1.5s", "30m", "24h", "7d".
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    let whole = |unit_ms: u128, unit: &str| {
        (ms >= unit_ms && ms.is_multiple_of(unit_ms)).then(|| format!("{}{unit}", ms / unit_ms))
    };
    whole(86_400_000, "d")
        .or_else(|| whole(3_600_000, "h"))
        .or_else(|| whole(60_000, "m"))
        .or_else(|| whole(1000, "s"))
        .unwrap_or_else(|| match ms {
            0 => "0s".to_string(),
            1..1000 => format!("{ms}ms"),
            _ => format!("{}s", d.as_secs_f64()),
        })
}

impl RawConfig {
    /// Parses TOML text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().trim_end().to_string() })
    }

    /// Checks every value and fills defaults. Relative paths are resolved against `base`
    /// (the config file's folder).
    pub fn validate(self, path: &Path, base: &Path) -> Result<Settings, ConfigError> {
        // One section at a time, in the order of the file, so the first mistake is reported.
        let check = Check { path, base };
        let audio = self.audio.validate(&check)?;
        let wake = self.wake.validate(&check)?;
        let endpoint = self.endpoint.validate(&check)?;
        let stt = self.stt.validate(&check)?;
        let intent_language = self.intent.validate_language(&check)?;
        let site_id = self.site.validate_id(&check)?;
        let privacy = self.privacy.validate(&check)?;
        let mqtt = self.mqtt.validate(&check, &site_id)?;
        check.entities(&self.entity)?;
        check.custom_intents(&self.intent.custom, intent_language)?;
        Ok(Settings {
            audio,
            wake,
            endpoint,
            stt,
            intent_language,
            intent_data: match self.intent.data {
                Some(p) => (check.resolve(p), true),
                None => (check.resolve(PathBuf::from(DEFAULT_INTENT_DATA)), false),
            },
            intent_custom_sentences: self.intent.custom_sentences.map(|p| check.resolve(p)),
            mqtt,
            site_id,
            site_area: self.site.area,
            privacy,
            feedback: FeedbackSettings {
                enabled: self.feedback.enabled.unwrap_or(true),
                device: self.feedback.device.unwrap_or_else(|| "default".into()),
            },
            voice: self.voice.validate(&check)?,
            entities: self.entity,
            areas: check.areas(self.area)?,
            intent_custom: self.intent.custom,
            intent_allow_unlock: self.intent.allow_unlock,
            intent_allow_open: self.intent.allow_open,
        })
    }
}

/// What every section's check needs: the file (for messages) and the folder relative paths
/// are resolved against.
struct Check<'a> {
    path: &'a Path,
    base: &'a Path,
}

impl Check<'_> {
    /// The error for `key` = `value`, with its fix.
    fn bad(&self, key: &'static str, value: String, fix: &str) -> ConfigError {
        ConfigError::Value { path: self.path.to_path_buf(), key, value, fix: fix.to_string() }
    }

    /// `p` relative to the config file's folder unless absolute.
    fn resolve(&self, p: PathBuf) -> PathBuf {
        if p.is_absolute() { p } else { self.base.join(p) }
    }

    /// The duration `text` (or `default`) of `key`, within `range`.
    fn duration(
        &self,
        key: &'static str,
        text: Option<String>,
        default: &str,
        (min, max): (Duration, Duration),
    ) -> Result<Duration, ConfigError> {
        let text = text.unwrap_or_else(|| default.into());
        match duration_within(&text, (min, max)) {
            Some(d) => Ok(d),
            None => Err(self.bad(
                key,
                format!("{text:?}"),
                &format!(
                    "write a duration from {} to {}, such as \"{default}\" (units: ms, s, m, h, d)",
                    show_duration(min),
                    show_duration(max)
                ),
            )),
        }
    }

    /// `[[entity]]`: a usable topic, a name, a known kind.
    fn entities(&self, entities: &[RawEntity]) -> Result<(), ConfigError> {
        for (i, e) in entities.iter().enumerate() {
            if let Some(problem) = e.command_topic.as_deref().and_then(topic_problem) {
                return Err(self.bad(
                    "entity.command_topic",
                    format!("{:?} (entity #{} {:?})", e.command_topic.as_deref().unwrap_or_default(), i + 1, e.name),
                    &format!("{problem}; give the exact topic the device listens on"),
                ));
            }
            if e.name.trim().is_empty() {
                return Err(self.bad(
                    "entity.name",
                    format!("\"\" (entity #{})", i + 1),
                    "give every [[entity]] the name people say",
                ));
            }
            if !ENTITY_KINDS.contains(&e.kind.trim()) {
                return Err(self.bad(
                    "entity.kind",
                    format!("{:?} (entity {:?})", e.kind, e.name),
                    &format!("use one of {}", ENTITY_KINDS.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// `[[area]]`: every area named once, with a non-empty name.
    fn areas(&self, areas: Vec<RawArea>) -> Result<Vec<RawArea>, ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for a in &areas {
            if a.name.trim().is_empty() {
                return Err(self.bad("area.name", "\"\"".into(), "give every [[area]] the name its entities use"));
            }
            if !seen.insert(crate::home::fold(&a.name)) {
                return Err(self.bad("area.name", format!("{:?}", a.name), "describe each area in one [[area]] table"));
            }
            if a.floor.as_deref().is_some_and(|f| f.trim().is_empty()) {
                return Err(self.bad("area.floor", "\"\"".into(), "name the floor, or leave `floor` out"));
            }
        }
        Ok(areas)
    }

    /// `[[intent.custom]]`: a name, sentences, a language Hearth has, and a topic for a payload.
    fn custom_intents(&self, intents: &[RawCustomIntent], language: Language) -> Result<(), ConfigError> {
        for c in intents {
            let what = format!("{:?}", c.name);
            if c.name.trim().is_empty() || !c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                return Err(self.bad("intent.custom.name", what, "name the intent with letters, digits and '_' only"));
            }
            if c.sentences.iter().all(|s| s.trim().is_empty()) {
                return Err(self.bad("intent.custom.sentences", what, "give the intent at least one sentence"));
            }
            if let Some(l) = &c.language
                && !Language::parse(l).is_some_and(|l| l.has_own_sentences())
            {
                return Err(self.bad(
                    "intent.custom.language",
                    format!("{l:?} (intent {what})"),
                    "use \"en\" or \"de\"",
                ));
            }
            if c.language.is_none() && !language.has_own_sentences() {
                return Err(self.bad(
                    "intent.custom.language",
                    format!("(not given, so [intent] language = {language}, intent {what})"),
                    "[[intent.custom]] sentences are English or German (language = \"en\" or \"de\"); \
                     for other languages write Home Assistant custom sentences ([intent] custom_sentences)",
                ));
            }
            if c.name.starts_with("Hass") && (c.topic.is_some() || c.payload.is_some()) {
                return Err(self.bad(
                    "intent.custom.topic",
                    what,
                    "built-in intents command the matched devices themselves; give your intent its own name to publish a message",
                ));
            }
            if let Some(problem) = c.topic.as_deref().and_then(topic_problem) {
                return Err(self.bad(
                    "intent.custom.topic",
                    format!("{:?} (intent {what})", c.topic.as_deref().unwrap_or_default()),
                    &format!("{problem}; give the one topic the message is published to"),
                ));
            }
            if c.payload.is_some() && c.topic.is_none() {
                return Err(self.bad("intent.custom.payload", what, "add the `topic` the payload is published to"));
            }
        }
        Ok(())
    }
}

impl RawAudio {
    fn validate(self, check: &Check) -> Result<AudioSettings, ConfigError> {
        let gain = self.gain.unwrap_or(1.0);
        if !(gain.is_finite() && gain > 0.0 && gain <= 100.0) {
            return Err(check.bad(
                "audio.gain",
                gain.to_string(),
                "use a number above 0 and at most 100 (1.0 = unchanged)",
            ));
        }
        Ok(AudioSettings { device: self.device.unwrap_or_else(|| "default".into()), gain })
    }
}

impl RawWake {
    fn validate(self, check: &Check) -> Result<WakeSettings, ConfigError> {
        let threshold = self.threshold.unwrap_or(0.5);
        if !valid_threshold(threshold) {
            return Err(check.bad("wake.threshold", threshold.to_string(), "use a number between 0 and 1, e.g. 0.5"));
        }
        Ok(WakeSettings {
            model: self.model.unwrap_or_else(|| "hey_jarvis".into()),
            threshold,
            refractory: check.duration("wake.refractory", self.refractory, "2s", REFRACTORY_RANGE)?,
            models_dir: check.resolve(self.models_dir.unwrap_or_else(|| PathBuf::from("models"))),
        })
    }
}

impl RawEndpoint {
    fn validate(self, check: &Check) -> Result<EndpointSettings, ConfigError> {
        Ok(EndpointSettings {
            end_silence: check.duration("endpoint.end_silence", self.end_silence, "0.7s", END_SILENCE_RANGE)?,
            max_command: check.duration("endpoint.max_command", self.max_command, "10s", MAX_COMMAND_RANGE)?,
            no_speech_timeout: check.duration(
                "endpoint.no_speech_timeout",
                self.no_speech_timeout,
                "4s",
                NO_SPEECH_TIMEOUT_RANGE,
            )?,
        })
    }
}

impl RawStt {
    fn validate(self, check: &Check) -> Result<SttSettings, ConfigError> {
        let language_text = self.language.unwrap_or_else(|| "en".into());
        let language = SttLanguage::parse(&language_text).ok_or_else(|| {
            check.bad(
                "stt.language",
                format!("{language_text:?}"),
                "use \"en\", \"de\", \"auto\" or another language code whisper knows (\"fr\", \"es\", \"nl\", ...)",
            )
        })?;
        let threads = self.threads.unwrap_or(2);
        if !STT_THREADS_RANGE.contains(&threads) {
            return Err(check.bad(
                "stt.threads",
                threads.to_string(),
                &format!(
                    "use {} to {} and at most the cores this machine has (2 on a Pi 4 leaves cores for capture and wake word)",
                    STT_THREADS_RANGE.start(),
                    STT_THREADS_RANGE.end()
                ),
            ));
        }
        let model = check.resolve(self.model.unwrap_or_else(|| PathBuf::from(DEFAULT_MODEL)));
        Ok(SttSettings { model, language, threads })
    }
}

impl RawIntent {
    fn validate_language(&self, check: &Check) -> Result<Language, ConfigError> {
        let text = self.language.clone().unwrap_or_else(|| "en".into());
        Language::parse(&text).ok_or_else(|| {
            check.bad(
                "intent.language",
                format!("{text:?}"),
                "use a language code of Home Assistant's sentence data: \"en\", \"de\", \"fr\", \"pt-BR\", ...",
            )
        })
    }
}

impl RawSite {
    fn validate_id(&self, check: &Check) -> Result<String, ConfigError> {
        let id = self.id.clone().unwrap_or_else(|| "default".into());
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(check.bad(
                "site.id",
                format!("{id:?}"),
                "use up to 64 letters, digits, '_' or '-' (it becomes part of MQTT topics)",
            ));
        }
        Ok(id)
    }
}

impl RawPrivacy {
    fn validate(self, check: &Check) -> Result<PrivacySettings, ConfigError> {
        let text = self.transcripts.unwrap_or_else(|| "discard".into());
        let transcripts = match text.as_str() {
            "discard" => TranscriptPolicy::Discard,
            "log" => TranscriptPolicy::Log,
            "keep" => TranscriptPolicy::Keep,
            _ => {
                return Err(check.bad(
                    "privacy.transcripts",
                    format!("{text:?}"),
                    "use \"discard\", \"log\" or \"keep\"",
                ));
            }
        };
        let keep_for = check.duration("privacy.keep_for", self.keep_for, "24h", KEEP_FOR_RANGE)?;
        Ok(PrivacySettings { transcripts, keep_for })
    }
}

impl RawVoice {
    fn validate(self, check: &Check) -> Result<VoiceSettings, ConfigError> {
        let text = self.answers.unwrap_or_else(|| "speak".into());
        let answers = match text.as_str() {
            "speak" => AnswerMode::Speak,
            "chime" => AnswerMode::Chime,
            "off" => AnswerMode::Off,
            _ => return Err(check.bad("voice.answers", format!("{text:?}"), "use \"speak\", \"chime\" or \"off\"")),
        };
        let speed = self.speed.unwrap_or(175);
        if !VOICE_SPEED_RANGE.contains(&speed) {
            return Err(check.bad(
                "voice.speed",
                speed.to_string(),
                &format!(
                    "use words per minute from {} to {} (175 is espeak-ng's own)",
                    VOICE_SPEED_RANGE.start(),
                    VOICE_SPEED_RANGE.end()
                ),
            ));
        }
        let espeak = self.espeak.unwrap_or_else(|| PathBuf::from("espeak-ng"));
        // A bare name is looked up on PATH; anything with a folder is relative to the config.
        let espeak = if espeak.components().count() > 1 { check.resolve(espeak) } else { espeak };
        let ring_limit = check.duration("voice.ring_limit", self.ring_limit, "5m", RING_LIMIT_RANGE)?;
        Ok(VoiceSettings { answers, espeak, speed, ring_limit })
    }
}

impl RawMqtt {
    fn validate(self, check: &Check, site_id: &str) -> Result<MqttSettings, ConfigError> {
        let port = self.port.unwrap_or(1883);
        if port == 0 {
            return Err(check.bad("mqtt.port", "0".into(), "use the broker's port, usually 1883 (8883 with TLS)"));
        }
        let host = self.host.filter(|h| !h.trim().is_empty());
        if host.is_none() && (self.username.is_some() || self.tls_ca.is_some()) {
            return Err(check.bad(
                "mqtt.host",
                "(absent)".into(),
                "credentials and TLS need the host of your broker; without a host Hearth runs its own broker on 127.0.0.1",
            ));
        }
        let discovery_prefix = self.discovery_prefix.unwrap_or_else(|| "homeassistant".into());
        if let Some(problem) = topic_problem(&discovery_prefix).or_else(|| {
            discovery_prefix.ends_with('/').then(|| "it ends with '/' (Hearth adds the '/' itself)".to_string())
        }) {
            return Err(check.bad(
                "mqtt.discovery_prefix",
                format!("{discovery_prefix:?}"),
                &format!("{problem}; use Home Assistant's discovery prefix, normally \"homeassistant\""),
            ));
        }
        let client_id = self.client_id.unwrap_or_else(|| format!("hearth-{site_id}"));
        if client_id.trim().is_empty() || client_id.chars().any(char::is_control) || client_id.len() > 256 {
            return Err(check.bad(
                "mqtt.client_id",
                format!("{client_id:?}"),
                "use a short name of printable characters that no other MQTT client uses, e.g. \"hearth-kitchen\"",
            ));
        }
        Ok(MqttSettings {
            host,
            port,
            username: self.username,
            password_file: self.password_file.map(|p| check.resolve(p)),
            tls_ca: self.tls_ca.map(|p| check.resolve(p)),
            tls_cert: self.tls_cert.map(|p| check.resolve(p)),
            tls_key: self.tls_key.map(|p| check.resolve(p)),
            client_id,
            discovery_prefix,
        })
    }
}

impl Settings {
    /// Loads settings: the given file, else `$HEARTH_CONFIG`, else `./config.toml` if present,
    /// else built-in defaults (relative paths then resolve against the working directory).
    pub fn load(explicit: Option<&Path>) -> Result<Settings, ConfigError> {
        match Self::chosen_file(explicit) {
            Some(path) => Self::from_file(&path),
            None => RawConfig::default().validate(Path::new("(built-in defaults)"), Path::new("")),
        }
    }

    /// The config file [`Settings::load`] reads: the given one, else `$HEARTH_CONFIG`, else
    /// `./config.toml` if present; `None` means built-in defaults.
    pub fn chosen_file(explicit: Option<&Path>) -> Option<PathBuf> {
        explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HEARTH_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("config.toml")).filter(|p| p.is_file()))
    }

    /// The config file messages should name: [`Settings::chosen_file`], else `config.toml`
    /// (where the user would create one).
    pub fn path_for_messages(explicit: Option<&Path>) -> PathBuf {
        Self::chosen_file(explicit).unwrap_or_else(|| PathBuf::from("config.toml"))
    }

    /// Reads and validates one config file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
        RawConfig::parse(&text, path)?.validate(path, &base)
    }
}

/// Why `topic` cannot be published to (or be a discovery prefix), or `None` when it can: the
/// rules the broker enforces ([`crate::mqtt::topic::check_publish`]).
fn topic_problem(topic: &str) -> Option<String> {
    crate::mqtt::topic::check_publish(topic).err().map(|why| why.to_string())
}

/// Whether `threshold` is one `[wake] threshold` (and `--threshold`) takes: strictly between 0 and 1.
pub fn valid_threshold(threshold: f32) -> bool {
    threshold > 0.0 && threshold < 1.0
}

/// [`parse_duration`] of `text` if it lies within `(min, max)`, as every duration key and flag
/// requires; `None` when malformed or out of range.
pub fn duration_within(text: &str, (min, max): (Duration, Duration)) -> Option<Duration> {
    parse_duration(text).filter(|d| (min..=max).contains(d))
}

/// Parses "1500ms", "2s", "1.5s", "30m", "24h", "2d"; `None` when malformed.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = t.split_at(split);
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        _ => return None,
    };
    // Out-of-range values (1e20 s is more than a `Duration` holds) are malformed too.
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        RawConfig::parse(text, Path::new("test.toml"))?.validate(Path::new("test.toml"), Path::new("/etc/hearth"))
    }

    #[test]
    fn shipped_config_parses_and_matches_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let s = Settings::from_file(&path).expect("shipped config.toml must be valid");
        assert_eq!(s.stt.language, SttLanguage::EN);
        assert!(s.stt.model.ends_with(DEFAULT_MODEL));
        assert_eq!(s.wake.model, "hey_jarvis");
        assert_eq!(s.privacy.transcripts, TranscriptPolicy::Discard);
        assert_eq!(s.mqtt.host, None, "the shipped config must use the embedded broker");
    }

    #[test]
    fn empty_file_gives_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s.stt.threads, 2);
        assert_eq!(s.stt.model, Path::new("/etc/hearth/models/ggml-tiny.en.bin"));
        assert_eq!(s.wake.refractory, Duration::from_secs(2));
        assert_eq!(s.privacy.keep_for, Duration::from_secs(86400));
        assert_eq!(s.mqtt.port, 1883);
        assert_eq!(s.mqtt.client_id, "hearth-default");
        assert_eq!(s.mqtt.discovery_prefix, "homeassistant");
        assert_eq!(s.wake.models_dir, Path::new("/etc/hearth/models"));
        assert_eq!(s.endpoint.end_silence, Duration::from_millis(700));
        assert_eq!(s.endpoint.max_command, Duration::from_secs(10));
        assert_eq!(s.endpoint.no_speech_timeout, Duration::from_secs(4));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse("[stt]\nmodle = \"x.bin\"\n").unwrap_err().to_string();
        assert!(err.contains("modle"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
        let err = parse("[sttt]\nmodel = \"x.bin\"\n").unwrap_err().to_string();
        assert!(err.contains("sttt"), "{err}");
    }

    #[test]
    fn any_language_whisper_and_the_sentence_data_know() {
        let s = parse("[stt]\nlanguage = \"fr\"\n[intent]\nlanguage = \"fr\"\n").unwrap();
        let fr = Language::parse("fr").unwrap();
        assert_eq!((s.stt.language, s.intent_language), (SttLanguage::Fixed(fr), fr));
        assert_eq!(s.stt.language.code(), Some("fr"));
        let s = parse("[stt]\nlanguage = \"pt-BR\"\n[intent]\nlanguage = \"pt-BR\"\n").unwrap();
        assert_eq!(s.stt.language.code(), Some("pt"), "whisper knows Portuguese, not Brazil");
        assert_eq!(s.intent_language.code(), "pt-BR", "the data has pt-BR");
        assert_eq!(parse("[stt]\nlanguage = \"AUTO\"\n").unwrap().stt.language, SttLanguage::Auto);
        let err = parse("[intent]\nlanguage = \"fr\"\n[[intent.custom]]\nname = \"X\"\nsentences = [\"x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("intent.custom.language") && err.contains("custom_sentences"), "{err}");
        let s = parse("[intent]\ncustom_sentences = \"mine\"\n").unwrap();
        assert_eq!(s.intent_custom_sentences, Some(Path::new("/etc/hearth/mine").to_path_buf()));
    }

    #[test]
    fn bad_values_name_key_and_fix() {
        let err = parse("[stt]\nlanguage = \"xx\"\n").unwrap_err().to_string();
        assert!(err.contains("stt.language") && err.contains("\"auto\""), "{err}");
        let err = parse("[wake]\nthreshold = 1.5\n").unwrap_err().to_string();
        assert!(err.contains("wake.threshold"), "{err}");
        let err = parse("[privacy]\nkeep_for = \"forever\"\n").unwrap_err().to_string();
        assert!(err.contains("privacy.keep_for"), "{err}");
        let err = parse("[endpoint]\nend_silence = \"10ms\"\n").unwrap_err().to_string();
        assert!(err.contains("endpoint.end_silence") && err.contains("0.7s"), "{err}");
        let err = parse("[intent]\nlanguage = \"auto\"\n").unwrap_err().to_string();
        assert!(err.contains("intent.language"), "{err}");
        let err = parse("[site]\nid = \"my kitchen\"\n").unwrap_err().to_string();
        assert!(err.contains("site.id"), "{err}");
    }

    #[test]
    fn entities_keep_extra_discovery_keys() {
        let s = parse(
            "[[entity]]\nname = \"Kitchen Light\"\nkind = \"light\"\ncommand_topic = \"z2m/k/set\"\nschema = \"json\"\nbrightness_scale = 254\n",
        )
        .unwrap();
        assert_eq!(s.entities.len(), 1);
        assert_eq!(s.entities[0].discovery.get("brightness_scale").and_then(|v| v.as_integer()), Some(254));
    }

    #[test]
    fn entity_kind_and_permissions() {
        let err = parse("[[entity]]\nname = \"Robot\"\nkind = \"vacuum\"\n").unwrap_err().to_string();
        assert!(err.contains("entity.kind") && err.contains("binary_sensor"), "{err}");
        let s = parse("[[entity]]\nname = \"Front Door\"\nkind = \"lock\"\nallow_unlock = true\n").unwrap();
        assert!(s.entities[0].allow_unlock && !s.entities[0].allow_open);
        assert!(s.entities[0].discovery.is_empty(), "permissions are not discovery keys");
        let err = parse("[[entity]]\nname = \"Front Door\"\nkind = \"lock\"\nallow_unlock = \"yes\"\n").unwrap_err();
        assert!(err.to_string().contains("allow_unlock") || err.to_string().contains("bool"), "{err}");
    }

    #[test]
    fn areas_floors_and_intent_data() {
        let s =
            parse("[[area]]\nname = \"Bedroom\"\nfloor = \"First Floor\"\nfloor_aliases = [\"upstairs\"]\n").unwrap();
        assert_eq!(s.areas[0].floor.as_deref(), Some("First Floor"));
        assert_eq!(s.intent_data, (Path::new("/etc/hearth").join(DEFAULT_INTENT_DATA), false));
        let s = parse("[intent]\ndata = \"/srv/intents\"\n").unwrap();
        assert_eq!(s.intent_data, (PathBuf::from("/srv/intents"), true));
        let err = parse("[[area]]\nname = \"Bedroom\"\n[[area]]\nname = \"bedroom\"\n").unwrap_err().to_string();
        assert!(err.contains("area.name") && err.contains("one [[area]]"), "{err}");
        let err = parse("[[area]]\nname = \" \"\n").unwrap_err().to_string();
        assert!(err.contains("area.name"), "{err}");
        let err = parse("[[area]]\nname = \"Hall\"\nfloor = \"\"\n").unwrap_err().to_string();
        assert!(err.contains("area.floor"), "{err}");
        assert!(parse("[[area]]\nname = \"Hall\"\nlevel = 2\n").is_err(), "unknown keys are refused");
    }

    #[test]
    fn custom_intents() {
        let s = parse(
            "[intent]\nallow_unlock = [\"Front Door\"]\n[[intent.custom]]\nname = \"GoodNight\"\nsentences = [\"good night\"]\ntopic = \"home/goodnight\"\npayload = \"ON\"\n[[intent.custom]]\nname = \"HassTurnOn\"\nsentences = [\"light up [the] {name}\"]\n",
        )
        .unwrap();
        assert_eq!(s.intent_custom.len(), 2);
        assert_eq!(s.intent_custom[0].topic.as_deref(), Some("home/goodnight"));
        assert_eq!(s.intent_allow_unlock, ["Front Door"]);
        let err =
            parse("[[intent.custom]]\nname = \"X\"\nsentences = [\"x\"]\nsentense = 1\n").unwrap_err().to_string();
        assert!(err.contains("sentense"), "{err}");
        let err = parse("[[intent.custom]]\nname = \"HassTurnOn\"\nsentences = [\"x\"]\ntopic = \"a\"\n").unwrap_err();
        assert!(err.to_string().contains("intent.custom.topic"), "{err}");
        let err = parse("[[intent.custom]]\nname = \"Good Night\"\nsentences = [\"x\"]\n").unwrap_err();
        assert!(err.to_string().contains("intent.custom.name"), "{err}");
        let err = parse("[[intent.custom]]\nname = \"X\"\nsentences = []\n").unwrap_err();
        assert!(err.to_string().contains("intent.custom.sentences"), "{err}");
        let err = parse("[[intent.custom]]\nname = \"X\"\nsentences = [\"x\"]\npayload = \"1\"\n").unwrap_err();
        assert!(err.to_string().contains("intent.custom.payload"), "{err}");
    }

    #[test]
    fn voice_defaults_and_mistakes() {
        let voice = parse("").unwrap().voice;
        assert_eq!((voice.answers, voice.speed, voice.ring_limit), (AnswerMode::Speak, 175, Duration::from_secs(300)));
        assert_eq!(voice.espeak, PathBuf::from("espeak-ng"));
        let voice = parse("[voice]\nanswers = \"chime\"\nespeak = \"bin/espeak-ng\"\n").unwrap().voice;
        assert_eq!(voice.answers, AnswerMode::Chime);
        assert!(voice.espeak.is_absolute() || voice.espeak.starts_with("."), "{}", voice.espeak.display());
        for (text, key) in [
            ("answers = \"loud\"", "voice.answers"),
            ("speed = 20", "voice.speed"),
            ("ring_limit = \"2h\"", "voice.ring_limit"),
        ] {
            let err = parse(&format!("[voice]\n{text}\n")).unwrap_err();
            assert!(matches!(&err, ConfigError::Value { key: k, .. } if *k == key), "{text}: {err}");
        }
        assert!(parse("[voice]\npiper = 1\n").unwrap_err().to_string().contains("piper"));
    }

    #[test]
    fn issue18_out_of_range_numbers_name_the_key() {
        for key in [
            "wake.refractory",
            "endpoint.end_silence",
            "endpoint.max_command",
            "endpoint.no_speech_timeout",
            "privacy.keep_for",
        ] {
            let (section, name) = key.split_once('.').unwrap();
            for value in ["100000000000000000000s", "1e300d", "8d"] {
                let err = parse(&format!("[{section}]\n{name} = \"{value}\"\n")).unwrap_err();
                assert!(matches!(&err, ConfigError::Value { key: k, .. } if *k == key), "{key} = {value}: {err}");
                assert!(err.to_string().contains("write a duration from"), "{err}");
            }
        }
        let err = parse("[wake]\nrefractory = \"61s\"\n").unwrap_err().to_string();
        assert!(err.contains("from 0s to 1m"), "{err}");
        assert_eq!(parse("[wake]\nrefractory = \"0s\"\n").unwrap().wake.refractory, Duration::ZERO);
        assert_eq!(parse("[privacy]\nkeep_for = \"7d\"\n").unwrap().privacy.keep_for, KEEP_FOR_RANGE.1);
        for threads in [0, 65, 1000] {
            let err = parse(&format!("[stt]\nthreads = {threads}\n")).unwrap_err().to_string();
            assert!(err.contains("stt.threads") && err.contains("1 to 64"), "{err}");
        }
        assert_eq!(parse("[stt]\nthreads = 64\n").unwrap().stt.threads, 64);
        for prefix in ["#", "a/+/b", "", "ha/", "x\\u0000"] {
            let err = parse(&format!("[mqtt]\ndiscovery_prefix = \"{prefix}\"\n")).unwrap_err().to_string();
            assert!(err.contains("mqtt.discovery_prefix"), "{prefix:?}: {err}");
        }
        assert_eq!(
            parse("[mqtt]\ndiscovery_prefix = \"ha/discovery\"\n").unwrap().mqtt.discovery_prefix,
            "ha/discovery"
        );
        let err = parse("[mqtt]\nclient_id = \" \"\n").unwrap_err().to_string();
        assert!(err.contains("mqtt.client_id"), "{err}");
        let err =
            parse("[[entity]]\nname = \"L\"\nkind = \"light\"\ncommand_topic = \"a/#\"\n").unwrap_err().to_string();
        assert!(err.contains("entity.command_topic") && err.contains("wildcard"), "{err}");
        let deep = vec!["a"; 202].join("/");
        let err =
            parse(&format!("[[intent.custom]]\nname = \"X\"\nsentences = [\"x\"]\ntopic = \"{deep}\"\n")).unwrap_err();
        assert!(err.to_string().contains("intent.custom.topic") && err.to_string().contains("202 levels"), "{err}");
    }

    #[test]
    fn durations_are_shown_as_written() {
        assert_eq!(show_duration(Duration::ZERO), "0s");
        assert_eq!(show_duration(Duration::from_millis(200)), "200ms");
        assert_eq!(show_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show_duration(Duration::from_secs(30)), "30s");
        assert_eq!(show_duration(Duration::from_secs(60)), "1m");
        assert_eq!(show_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(show_duration(Duration::from_secs(7_200)), "2h");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("2"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("3 weeks"), None);
        // issue 18, case 4: more seconds than a `Duration` holds is malformed, not a panic.
        assert_eq!(parse_duration("100000000000000000000s"), None);
        assert_eq!(parse_duration("1e300d"), None);
    }
}
