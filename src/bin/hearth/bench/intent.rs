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
    fn bench_home_is_realistic() {
        let r = bench_registry(200, Language::En);
        assert_eq!(r.len(), 200);
        assert_eq!(r.areas().len(), 20);
        assert!(r.get("light.kitchen_ceiling_light").is_some());
        let more = bench_registry(210, Language::De);
        assert_eq!(more.len(), 210, "names stay unique beyond 200");
    }
}
