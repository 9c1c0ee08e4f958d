//! `hearth bench intent`: matching speed with a generated home of many devices (20 areas × 10
//! kinds of device, repeated with numbers beyond 200), in English or German.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use hearth::home::{Entity, EntityRegistry, Kind};
use hearth::intent::{Context, Language, Recognizer};

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
pub fn bench_registry(count: usize, language: BenchLanguage) -> EntityRegistry {
    let mut registry = EntityRegistry::new();
    for i in 0..count {
        let (area_en, area_de) = BENCH_AREAS[(i / BENCH_DEVICES.len()) % BENCH_AREAS.len()];
        let (dev_en, dev_de, kind, class) = BENCH_DEVICES[i % BENCH_DEVICES.len()];
        let round = i / (BENCH_AREAS.len() * BENCH_DEVICES.len());
        let (area, device) = match language {
            BenchLanguage::En => (area_en, dev_en),
            BenchLanguage::De => (area_de, dev_de),
        };
        let suffix = if round > 0 { format!(" {}", round + 1) } else { String::new() };
        let name = format!("{area} {device}{suffix}");
        let slug = hearth::home::fold(&name).replace(' ', "_");
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
fn bench_sentences(language: BenchLanguage) -> &'static [&'static str] {
    match language {
        BenchLanguage::En => &[
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
        BenchLanguage::De => &[
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

/// The languages the benchmark has sentences and a home for (`--language`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchLanguage {
    /// English.
    En,
    /// German.
    De,
}

impl From<BenchLanguage> for Language {
    fn from(l: BenchLanguage) -> Language {
        match l {
            BenchLanguage::En => Language::En,
            BenchLanguage::De => Language::De,
        }
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
    /// Resident memory the compiled sentences take.
    pub memory: u64,
    /// Home Assistant's sentence data used, if any.
    pub data: Option<String>,
    /// The sentence that took longest on average, and its mean time.
    pub slowest: String,
    /// Its mean time.
    pub slowest_time: Duration,
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
             sentences: {}\n\
             compile (en+de): {:.1} ms, resident memory {:.1} MB\n\
             per sentence: mean {:.0} µs, median {:.0} µs, p99 {:.0} µs, max {:.0} µs\n\
             throughput: {:.0} sentences/s on one thread\n\
             slowest sentence: {:?}, mean {:.0} µs\n",
            self.language.code(),
            self.entities,
            self.sentences,
            self.matched,
            self.runs,
            self.data.as_deref().map_or_else(
                || "Hearth's own only".to_string(),
                |d| format!("Home Assistant's ({d}), then Hearth's own")
            ),
            self.compile.as_secs_f64() * 1e3,
            self.memory as f64 / 1e6,
            mean * 1e6,
            pct(0.5),
            pct(0.99),
            pct(1.0),
            1.0 / mean.max(1e-12),
            self.slowest,
            self.slowest_time.as_secs_f64() * 1e6,
        )
    }
}

/// This process's resident memory in bytes (Linux; 0 elsewhere).
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

/// `hearth bench intent`: recognises the benchmark sentences `rounds` times each against a
/// generated home of `entities` devices, with Home Assistant's sentence data when `data` is
/// given (compiled for English and German). `export` receives the home and the sentences.
pub fn bench(
    entities: usize,
    language: BenchLanguage,
    rounds: usize,
    data: Option<&std::path::Path>,
    export: Option<&std::path::Path>,
) -> anyhow::Result<BenchReport> {
    let before = resident();
    let started = Instant::now();
    let mut recognizer = Recognizer::new(&[]).context("compiling the built-in sentences")?;
    if let Some(data) = data {
        let assist = hearth::intent::ha::assist::Assist::load(data, &[Language::En, Language::De], None)
            .with_context(|| format!("loading Home Assistant's sentences from {}", data.display()))?;
        recognizer = recognizer.with_assist(assist);
    }
    let compile = started.elapsed();
    let memory = resident().saturating_sub(before);
    let registry = bench_registry(entities, language);
    if let Some(dir) = export {
        export_home(dir, &registry, bench_sentences(language))?;
    }
    let context = Context { language: language.into(), area: Some(BENCH_AREAS[0].0.to_string()) };
    let sentences = bench_sentences(language);
    let matched = sentences.iter().filter(|s| recognizer.recognize(s, &registry, &context).is_some()).count();
    let mut times = Vec::with_capacity(sentences.len() * rounds);
    let mut per_sentence = vec![Duration::ZERO; sentences.len()];
    let total_start = Instant::now();
    for _ in 0..rounds.max(1) {
        for (i, s) in sentences.iter().enumerate() {
            let t = Instant::now();
            std::hint::black_box(recognizer.recognize(std::hint::black_box(s), &registry, &context));
            let took = t.elapsed();
            per_sentence[i] += took;
            times.push(took);
        }
    }
    let total = total_start.elapsed();
    let (slowest, slowest_time) = per_sentence
        .iter()
        .enumerate()
        .max_by_key(|(_, t)| **t)
        .map(|(i, t)| (sentences[i].to_string(), *t / rounds.max(1) as u32))
        .unwrap_or_default();
    times.sort();
    Ok(BenchReport {
        language: language.into(),
        entities: registry.len(),
        sentences: sentences.len(),
        matched,
        runs: times.len(),
        total,
        times,
        compile,
        memory,
        data: data.map(|d| d.display().to_string()),
        slowest,
        slowest_time,
    })
}

/// Writes the generated home as `home.json` (the schema of tests/hassil/home.json) and the
/// sentences as `sentences.txt`, so a peer can be timed on exactly the same input.
fn export_home(dir: &std::path::Path, registry: &EntityRegistry, sentences: &[&str]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let areas: Vec<serde_json::Value> = registry
        .areas()
        .iter()
        .map(|a| serde_json::json!({"name": a.name, "aliases": [], "floor": "Ground Floor"}))
        .collect();
    let entities: Vec<serde_json::Value> = registry
        .iter()
        .map(|e| {
            serde_json::json!({"name": e.name, "aliases": e.aliases, "domain": e.kind.domain(),
                "device_class": e.device_class(), "area": e.area})
        })
        .collect();
    let home =
        serde_json::json!({"floors": [{"name": "Ground Floor", "aliases": []}], "areas": areas, "entities": entities});
    std::fs::write(dir.join("home.json"), serde_json::to_string_pretty(&home)?)?;
    std::fs::write(dir.join("sentences.txt"), sentences.join("\n") + "\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_home_is_realistic() {
        let r = bench_registry(200, BenchLanguage::En);
        assert_eq!(r.len(), 200);
        assert_eq!(r.areas().len(), 20);
        assert!(r.get("light.kitchen_ceiling_light").is_some());
        let more = bench_registry(210, BenchLanguage::De);
        assert_eq!(more.len(), 210, "names stay unique beyond 200");
    }
}
