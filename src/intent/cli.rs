//! The I/O shell around recognition: `hearth intent` (sentences from the arguments or stdin,
//! one result line each) and `hearth bench intent` (matching speed with a generated
//! 200-entity home). Everything else in [`crate::intent`] is pure.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::config::{ConfigError, Settings};
use crate::home::{Entity, EntityRegistry, Kind};

use super::{Context, IntentMatch, Language, Recognizer};

/// `--language` of `hearth intent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LanguageChoice {
    /// English.
    En,
    /// German.
    De,
}

impl From<LanguageChoice> for Language {
    fn from(l: LanguageChoice) -> Language {
        match l {
            LanguageChoice::En => Language::En,
            LanguageChoice::De => Language::De,
        }
    }
}

/// What `hearth intent` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct IntentOptions {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--language` (default: `[intent] language`).
    pub language: Option<LanguageChoice>,
    /// `--area` (default: `[site] area`).
    pub area: Option<String>,
    /// `--json`.
    pub json: bool,
    /// `--execute`: also publish through MQTT and wait for the acknowledgements.
    pub execute: bool,
    /// Sentences from the command line; empty = read stdin.
    pub text: Vec<String>,
}

/// The sentences given as arguments: each argument is a sentence when some argument holds a
/// space (`hearth intent "turn on x" "turn off y"`), else the words form one sentence
/// (`hearth intent turn on the light`).
fn sentences_from_args(text: &[String]) -> Vec<String> {
    if text.iter().any(|t| t.trim().contains(char::is_whitespace)) {
        text.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()
    } else {
        let joined = text.join(" ");
        if joined.trim().is_empty() { Vec::new() } else { vec![joined.trim().to_string()] }
    }
}

/// `hearth intent`: prints one line per sentence.
pub fn run(options: IntentOptions) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(options.config.as_deref())?;
    let publisher = if options.execute { Some(Publisher::start(&settings)?) } else { None };
    let path = Settings::path_for_messages(options.config.as_deref());
    let mut registry = EntityRegistry::from_settings(&settings).map_err(|e| ConfigError::Value {
        path: path.clone(),
        key: "entity",
        value: String::new(),
        fix: e.to_string(),
    })?;
    if let Some(publisher) = &publisher {
        publisher.discover(&mut registry, &settings.mqtt.discovery_prefix)?;
    }
    let recognizer = Recognizer::from_settings(&settings).map_err(|e| ConfigError::Value {
        path: path.clone(),
        key: "intent.custom",
        value: String::new(),
        fix: e.to_string(),
    })?;
    let language = options
        .language
        .map(Language::from)
        .or_else(|| Language::from_stt(settings.intent_language))
        .unwrap_or(Language::En);
    let context = Context { language, area: options.area.clone().or_else(|| settings.site_area.clone()) };

    let mut out = std::io::stdout().lock();
    let mut failed = 0usize;
    let mut answer = |sentence: &str| -> anyhow::Result<()> {
        let result = recognizer.recognize(sentence, &registry, &context);
        let line =
            if options.json { json_line(sentence, result.as_ref()) } else { text_line(sentence, result.as_ref()) };
        writeln!(out, "{line}")?;
        out.flush()?;
        if let (Some(publisher), Some(m)) = (&publisher, &result) {
            failed += publisher.execute(m, sentence);
        }
        Ok(())
    };
    if options.text.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading sentences from stdin")?;
            if !line.trim().is_empty() {
                answer(line.trim())?;
            }
        }
    } else {
        for sentence in sentences_from_args(&options.text) {
            answer(&sentence)?;
        }
    }
    if let Some(publisher) = publisher {
        publisher.shutdown();
    }
    if failed > 0 {
        bail!("{failed} MQTT message(s) were not acknowledged by the broker (see the warnings above)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `--execute`: the MQTT bridge on its own runtime, publishing each match's actions and its
/// intent event exactly as `hearth run` will, and waiting for the broker's acknowledgements.
struct Publisher {
    /// Runs the bridge's tasks.
    runtime: tokio::runtime::Runtime,
    /// The connected bridge.
    bridge: crate::mqtt::MqttBridge,
    /// Whether the intent event may carry the text (`[privacy] transcripts` other than discard).
    share_text: bool,
}

impl Publisher {
    /// How long to wait for the broker before giving up.
    const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    fn start(settings: &Settings) -> anyhow::Result<Publisher> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the MQTT runtime")?;
        let bridge = runtime.block_on(async {
            let bridge = crate::mqtt::MqttBridge::from_settings(settings).await?;
            bridge.wait_connected(Self::CONNECT_TIMEOUT).await?;
            Ok::<_, crate::mqtt::MqttError>(bridge)
        })?;
        let share_text = settings.privacy.transcripts != crate::config::TranscriptPolicy::Discard;
        Ok(Publisher { runtime, bridge, share_text })
    }

    /// Adds the devices Home Assistant discovery announces on the broker to `registry`.
    fn discover(&self, registry: &mut EntityRegistry, prefix: &str) -> anyhow::Result<()> {
        self.runtime.block_on(self.bridge.load_discovery(registry, prefix))?;
        Ok(())
    }

    /// Publishes the actions and the intent event; returns how many were not acknowledged.
    fn execute(&self, m: &IntentMatch, sentence: &str) -> usize {
        let mut deliveries: Vec<(String, crate::mqtt::Delivery)> = m
            .actions
            .iter()
            .map(|a| (a.topic.clone(), self.bridge.publish(a.topic.as_str(), a.payload.as_str())))
            .collect();
        let intent = m.intent_json();
        let slots = intent.get("slots").and_then(|s| s.as_object()).cloned().unwrap_or_default();
        let text = self.share_text.then_some(sentence);
        deliveries.push((self.bridge.topics().intent.clone(), self.bridge.publish_intent_event(&m.name, &slots, text)));
        self.runtime.block_on(async {
            let mut failed = 0;
            for (topic, delivery) in deliveries {
                let outcome = delivery.await;
                if outcome != crate::mqtt::Outcome::Published {
                    tracing::warn!(%topic, ?outcome, "not published");
                    failed += 1;
                }
            }
            failed
        })
    }

    fn shutdown(self) {
        self.runtime.block_on(self.bridge.shutdown());
    }
}

/// `{"text": ..., "intent": {"name", "slots"} | null, "actions": [...], "refused"?: ...}`.
pub fn json_line(text: &str, result: Option<&IntentMatch>) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let intent = result.map_or_else(|| "null".to_string(), |m| m.intent_json().to_string());
    let actions = serde_json::to_string(&result.map(|m| m.actions.as_slice()).unwrap_or_default())
        .unwrap_or_else(|_| "[]".into());
    let mut line = format!("{{\"text\": {}, \"intent\": {intent}, \"actions\": {actions}", quoted(text));
    if let Some(reason) = result.and_then(|m| m.refused.as_deref()) {
        line.push_str(&format!(", \"refused\": {}", quoted(reason)));
    }
    line.push('}');
    line
}

/// `text => HassTurnOn(name=Kitchen Light) -> topic payload; ...`.
pub fn text_line(text: &str, result: Option<&IntentMatch>) -> String {
    let Some(m) = result else { return format!("{text} => no intent") };
    let slots: Vec<String> = m.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut line = format!("{text} => {}({})", m.name, slots.join(", "));
    if !m.actions.is_empty() {
        let actions: Vec<String> = m.actions.iter().map(|a| format!("{} {}", a.topic, a.payload)).collect();
        line.push_str(&format!(" -> {}", actions.join("; ")));
    }
    if let Some(reason) = &m.refused {
        line.push_str(&format!(" (refused: {reason})"));
    }
    line
}

/// Areas of the generated benchmark home.
const BENCH_AREAS: [(&str, &str); 20] = [
    ("Kitchen", "Küche"),
    ("Living Room", "Wohnzimmer"),
    ("Bedroom", "Schlafzimmer"),
    ("Bathroom", "Bad"),
    ("Hallway", "Flur"),
    ("Office", "Büro"),
    ("Garage", "Garage"),
    ("Garden", "Garten"),
    ("Dining Room", "Esszimmer"),
    ("Kids Room", "Kinderzimmer"),
    ("Guest Room", "Gästezimmer"),
    ("Basement", "Keller"),
    ("Attic", "Dachboden"),
    ("Laundry", "Waschküche"),
    ("Porch", "Veranda"),
    ("Patio", "Terrasse"),
    ("Study", "Arbeitszimmer"),
    ("Nursery", "Babyzimmer"),
    ("Pantry", "Speisekammer"),
    ("Balcony", "Balkon"),
];

/// Devices per area of the generated home: English name, German name, kind, device class.
const BENCH_DEVICES: [(&str, &str, Kind, Option<&str>); 10] = [
    ("Ceiling Light", "Deckenlicht", Kind::Light, None),
    ("Lamp", "Lampe", Kind::Light, None),
    ("Spots", "Strahler", Kind::Light, None),
    ("Blinds", "Rollladen", Kind::Cover, Some("shutter")),
    ("Thermostat", "Thermostat", Kind::Climate, None),
    ("Fan", "Ventilator", Kind::Fan, None),
    ("Plug", "Steckdose", Kind::Switch, None),
    ("Window", "Fenster", Kind::BinarySensor, Some("window")),
    ("Temperature", "Temperatur", Kind::Sensor, Some("temperature")),
    ("Speaker", "Lautsprecher", Kind::MediaPlayer, None),
];

/// A home of `count` entities (20 areas × 10 devices, repeated with numbers beyond 200).
pub fn bench_registry(count: usize, language: Language) -> EntityRegistry {
    let mut registry = EntityRegistry::new();
    for i in 0..count {
        let (area_en, area_de) = BENCH_AREAS[(i / BENCH_DEVICES.len()) % BENCH_AREAS.len()];
        let (dev_en, dev_de, kind, class) = BENCH_DEVICES[i % BENCH_DEVICES.len()];
        let round = i / (BENCH_AREAS.len() * BENCH_DEVICES.len());
        let (area, device) = match language {
            Language::En => (area_en, dev_en),
            Language::De => (area_de, dev_de),
        };
        let suffix = if round > 0 { format!(" {}", round + 1) } else { String::new() };
        let name = format!("{area} {device}{suffix}");
        let slug = crate::home::fold(&name).replace(' ', "_");
        let mut e = Entity::new(format!("{}.{slug}", kind.domain()), name, kind);
        e.area = Some(area.to_string());
        let topic = format!("zigbee2mqtt/{slug}");
        e.config.insert("command_topic".into(), format!("{topic}/set").into());
        match kind {
            Kind::Light => {
                e.config.insert("schema".into(), "json".into());
                e.config.insert("brightness_scale".into(), 254.into());
            }
            Kind::Cover => {
                e.config.insert("set_position_topic".into(), format!("{topic}/position").into());
            }
            Kind::Climate => {
                e.config.insert("temperature_command_topic".into(), format!("{topic}/temperature").into());
            }
            Kind::Fan => {
                e.config.insert("percentage_command_topic".into(), format!("{topic}/percentage").into());
            }
            _ => {}
        }
        if let Some(class) = class {
            e.config.insert("device_class".into(), class.into());
        }
        registry.insert(e);
    }
    registry
}

/// Sentences timed by the benchmark: commands of every kind, with whisper's habits, and
/// sentences that must not match.
fn bench_sentences(language: Language) -> &'static [&'static str] {
    match language {
        Language::En => &[
            "Turn on the kitchen ceiling light.",
            "Turn off the lights in the living room.",
            "Set the bedroom lamp to 50%.",
            "Dim the office spots to thirty percent.",
            "Open the garage blinds.",
            "Close the blinds in the kids room.",
            "Set the study blinds to 40 percent.",
            "Set the hallway thermostat to twenty-one degrees.",
            "Set the fan in the attic to 60%.",
            "Switch on the Porch-Plug, please.",
            "Is the bathroom window open?",
            "What is the temperature in the dining room?",
            "Set a timer for 5 minutes.",
            "How much time is left on the timer?",
            "Cancel the timer.",
            "Never mind.",
            "Turn on the kitchen lite.",
            "What's the weather on Mars?",
            "Tell me a joke.",
            "Play some music in the kitchen.",
        ],
        Language::De => &[
            "Schalte das Deckenlicht in der Küche ein.",
            "Mach das Licht im Wohnzimmer aus.",
            "Dimme die Schlafzimmer Lampe auf dreißig Prozent.",
            "Stelle die Büro Strahler auf 50 %.",
            "Öffne den Rollladen in der Garage.",
            "Mach die Rollläden im Kinderzimmer zu.",
            "Stelle die Heizung im Flur auf einundzwanzig Grad.",
            "Stelle den Ventilator auf dem Dachboden auf 60 Prozent.",
            "Schalte die Veranda-Steckdose an, bitte.",
            "Ist das Fenster im Bad offen?",
            "Wie warm ist es im Esszimmer?",
            "Stelle einen Timer für 5 Minuten.",
            "Wie lange läuft der Timer noch?",
            "Timer abbrechen.",
            "Vergiss es.",
            "Küchenlicht an.",
            "Wie ist das Wetter auf dem Mars?",
            "Erzähl mir einen Witz.",
            "Spiel Musik in der Küche.",
        ],
    }
}

/// Results of `hearth bench intent`.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Language.
    pub language: Language,
    /// Entities in the registry.
    pub entities: usize,
    /// Distinct sentences.
    pub sentences: usize,
    /// Of which recognised.
    pub matched: usize,
    /// Timed recognitions.
    pub runs: usize,
    /// Total time of the timed recognitions.
    pub total: Duration,
    /// Per-recognition times, sorted.
    pub times: Vec<Duration>,
    /// Time to compile the sentences (both languages).
    pub compile: Duration,
}

impl BenchReport {
    /// A few lines for the terminal and BENCHMARKS.md.
    pub fn report(&self) -> String {
        let pct = |p: f64| {
            let i = ((self.times.len() as f64 - 1.0) * p).round() as usize;
            self.times.get(i).copied().unwrap_or_default().as_secs_f64() * 1e6
        };
        let mean = self.total.as_secs_f64() / self.runs.max(1) as f64;
        format!(
            "intent recognition ({}): {} entities, {} sentences ({} recognised), {} runs\n\
             compile (en+de): {:.1} ms\n\
             per sentence: mean {:.0} µs, median {:.0} µs, p99 {:.0} µs, max {:.0} µs\n\
             throughput: {:.0} sentences/s on one thread\n",
            self.language.code(),
            self.entities,
            self.sentences,
            self.matched,
            self.runs,
            self.compile.as_secs_f64() * 1e3,
            mean * 1e6,
            pct(0.5),
            pct(0.99),
            pct(1.0),
            1.0 / mean.max(1e-12),
        )
    }
}

/// `hearth bench intent`: recognises the benchmark sentences `rounds` times each against a
/// generated home of `entities` devices.
pub fn bench(entities: usize, language: Language, rounds: usize) -> anyhow::Result<BenchReport> {
    let started = Instant::now();
    let recognizer = Recognizer::new(&[]).context("compiling the built-in sentences")?;
    let compile = started.elapsed();
    let registry = bench_registry(entities, language);
    let context = Context { language, area: Some(BENCH_AREAS[0].0.to_string()) };
    let sentences = bench_sentences(language);
    let matched = sentences.iter().filter(|s| recognizer.recognize(s, &registry, &context).is_some()).count();
    let mut times = Vec::with_capacity(sentences.len() * rounds);
    let total_start = Instant::now();
    for _ in 0..rounds.max(1) {
        for s in sentences {
            let t = Instant::now();
            std::hint::black_box(recognizer.recognize(std::hint::black_box(s), &registry, &context));
            times.push(t.elapsed());
        }
    }
    let total = total_start.elapsed();
    times.sort();
    Ok(BenchReport {
        language,
        entities: registry.len(),
        sentences: sentences.len(),
        matched,
        runs: times.len(),
        total,
        times,
        compile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_sentences() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(sentences_from_args(&args(&["turn", "on", "the", "light"])), ["turn on the light"]);
        assert_eq!(sentences_from_args(&args(&["turn on a", "turn off b"])), ["turn on a", "turn off b"]);
        assert!(sentences_from_args(&args(&[" "])).is_empty());
    }

    #[test]
    fn bench_home_is_realistic() {
        let r = bench_registry(200, Language::En);
        assert_eq!(r.len(), 200);
        assert_eq!(r.areas().len(), 20);
        assert!(r.get("light.kitchen_ceiling_light").is_some());
        let more = bench_registry(210, Language::De);
        assert_eq!(more.len(), 210, "names stay unique beyond 200");
    }
}
