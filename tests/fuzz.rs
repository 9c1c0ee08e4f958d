//! Property tests over everything hostile input reaches (issue 18, "fuzzing in CI"): config text
//! and values, WAV bytes, model files, discovery topics and payloads, and the command builder.
//! Each property is "never panics" plus, where there is one, the bound the parser promises; the
//! case counts keep the whole file to a few seconds in release builds (`HEARTH_FUZZ_SCALE=N`
//! runs N times as many cases). Failures are not persisted to files: a failing case is printed,
//! shrunk, and fixed in the code (the WAV property found NaN samples panicking rubato's FFT).

mod support;

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use hearth::config::{self, RawConfig};
use hearth::home::{self, Action, DiscoveredTopics, Entity, EntityRegistry, Kind};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// `cases` cases (times `$HEARTH_FUZZ_SCALE` for a longer hunt by hand), nothing written to disk.
fn cases(cases: u32) -> Config {
    let scale = std::env::var("HEARTH_FUZZ_SCALE").ok().and_then(|s| s.parse::<u32>().ok()).unwrap_or(1).max(1);
    Config { cases: cases.saturating_mul(scale), failure_persistence: None, ..Config::default() }
}

// ---- values ----

/// Text that tends to matter to the parsers: templates, payloads, schemas, units, escapes.
const WORDS: &[&str] = &[
    "",
    "~",
    "~/set",
    "/",
    "+",
    "#",
    "\u{0}",
    "\n",
    "\u{1b}[2J",
    "ON",
    "OFF",
    "json",
    "default",
    "basic",
    "template",
    "brightness",
    "first",
    "last",
    "garage",
    "gate",
    "blind",
    "heat",
    "off",
    "cool",
    "onoff",
    "true",
    "yes",
    "254",
    "-1",
    "1e308",
    "NaN",
    "{{ value }}",
    "{{ value | int }}",
    "{{value|float}}",
    "{{",
    "}}",
    "{{ value * 2 }}",
    "{% if %}",
    "{{}}",
    "{{{}}}",
    "Küche",
    "💡",
    "light",
    "switch",
    "cover",
    "climate",
    "lock",
    "valve",
    "fan",
];

/// Discovery keys, abbreviated and spelled out, plus the structural ones.
const KEYS: &[&str] = &[
    "name",
    "unique_id",
    "uniq_id",
    "~",
    "command_topic",
    "cmd_t",
    "state_topic",
    "schema",
    "brightness",
    "brightness_scale",
    "bri_scl",
    "brightness_command_topic",
    "bri_cmd_t",
    "brightness_command_template",
    "on_command_type",
    "payload_on",
    "pl_on",
    "payload_off",
    "payload_open",
    "payload_close",
    "payload_stop",
    "payload_lock",
    "payload_unlock",
    "payload_press",
    "command_template",
    "supported_color_modes",
    "percentage_command_topic",
    "pct_cmd_t",
    "percentage_command_template",
    "speed_range_min",
    "speed_range_max",
    "set_position_topic",
    "set_position_template",
    "position_open",
    "position_closed",
    "reports_position",
    "device_class",
    "dev_cla",
    "temperature_command_topic",
    "temperature_command_template",
    "min_temp",
    "max_temp",
    "temp_step",
    "power_command_topic",
    "mode_command_topic",
    "modes",
    "device",
    "dev",
    "p",
    "platform",
    "cmps",
    "components",
    "ids",
    "sa",
    "suggested_area",
];

fn special_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            0.0, -0.0, -1.0, 0.5, 1.0, 100.0, 254.0, 255.0, 65_535.0, 65_536.0, 1e20, 1e308, -1e308
        ]),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![0i64, -1, 1, 2, 3, 100, 255, 65_535, i64::MAX, i64::MIN]).prop_map(Value::from),
        special_f64().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        "\\PC{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS).prop_map(str::to_string), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The keys the command builder computes with, which `home::limits` range-checks.
const RANGED_KEYS: &[&str] = &[
    "brightness_scale",
    "speed_range_min",
    "speed_range_max",
    "position_open",
    "position_closed",
    "min_temp",
    "max_temp",
    "temp_step",
];

/// A discovery-like object: a plausible entity (a name and every command topic) with known
/// keys of any value laid over it, so most cases reach the command builder's arithmetic.
fn json_config() -> impl Strategy<Value = Map<String, Value>> {
    let random = prop::collection::btree_map(prop::sample::select(KEYS).prop_map(str::to_string), json_value(), 0..5);
    let numbers = prop::collection::btree_map(
        prop::sample::select(RANGED_KEYS).prop_map(str::to_string),
        prop_oneof![
            json_leaf(),
            special_f64().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number))
        ],
        0..4,
    );
    (prop::bool::weighted(0.85), "[A-Za-z ]{1,12}", numbers, random).prop_map(|(plain, name, numbers, random)| {
        let mut m = Map::new();
        if plain {
            m.insert("name".into(), Value::String(name));
            for key in [
                "command_topic",
                "brightness_command_topic",
                "percentage_command_topic",
                "set_position_topic",
                "temperature_command_topic",
                "mode_command_topic",
                "power_command_topic",
            ] {
                m.insert(key.into(), Value::String(format!("dev/{key}")));
            }
        }
        m.extend(numbers);
        m.extend(random);
        m
    })
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop::sample::select(vec![
            Action::TurnOn,
            Action::TurnOff,
            Action::Lock,
            Action::Unlock,
            Action::Open,
            Action::Close,
            Action::Stop,
            Action::Activate,
            Action::Press,
        ]),
        any::<u8>().prop_map(Action::Brightness),
        any::<u8>().prop_map(Action::Position),
        any::<u8>().prop_map(Action::Percentage),
        special_f64().prop_map(Action::Temperature),
    ]
}

// ---- config ----

/// A TOML value as text: numbers at the edges, durations with huge or odd numbers, strings.
fn toml_value() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "100000000000000000000",
            "1e400",
            "1e20",
            "-0",
            "0",
            "0.0000001",
            "18446744073709551616",
            "nan"
        ])
        .prop_map(str::to_string),
        any::<u32>().prop_map(|n| n.to_string()),
    ];
    let unit = prop::sample::select(vec!["ms", "s", "m", "min", "h", "d", "x", "", " s", "S"]);
    prop_oneof![
        (number.clone(), unit).prop_map(|(n, u)| format!("\"{n}{u}\"")),
        any::<i64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec!["nan", "inf", "-inf", "1e308", "-1e308", "0.0", "1.5", "0", "65536", "-1"])
            .prop_map(str::to_string),
        any::<bool>().prop_map(|b| b.to_string()),
        "\\PC{0,16}".prop_map(|s| toml::Value::String(s).to_string()),
        prop::sample::select(WORDS).prop_map(|w| toml::Value::String(w.to_string()).to_string()),
        prop::collection::vec("[a-z ]{0,6}", 0..3).prop_map(|v| toml::Value::try_from(v).unwrap().to_string()),
    ]
}

/// What a config key holds, so most generated values get past the TOML types to the ranges.
#[derive(Debug, Clone, Copy)]
enum Ty {
    Duration,
    Text,
    Count,
    Number,
    Flag,
    Names,
}

/// Every `[section] key` of config.toml, with its type.
const CONFIG_KEYS: &[(&str, &str, Ty)] = &[
    ("audio", "device", Ty::Text),
    ("audio", "gain", Ty::Number),
    ("wake", "model", Ty::Text),
    ("wake", "threshold", Ty::Number),
    ("wake", "refractory", Ty::Duration),
    ("wake", "models_dir", Ty::Text),
    ("endpoint", "end_silence", Ty::Duration),
    ("endpoint", "max_command", Ty::Duration),
    ("endpoint", "no_speech_timeout", Ty::Duration),
    ("stt", "model", Ty::Text),
    ("stt", "language", Ty::Text),
    ("stt", "threads", Ty::Count),
    ("intent", "language", Ty::Text),
    ("intent", "allow_unlock", Ty::Names),
    ("intent", "allow_open", Ty::Names),
    ("mqtt", "host", Ty::Text),
    ("mqtt", "port", Ty::Count),
    ("mqtt", "username", Ty::Text),
    ("mqtt", "password_file", Ty::Text),
    ("mqtt", "client_id", Ty::Text),
    ("mqtt", "discovery_prefix", Ty::Text),
    ("site", "id", Ty::Text),
    ("site", "area", Ty::Text),
    ("privacy", "transcripts", Ty::Text),
    ("privacy", "keep_for", Ty::Duration),
    ("feedback", "enabled", Ty::Flag),
    ("feedback", "device", Ty::Text),
];

/// A value of type `ty` (hostile within the type), or now and then of any type.
fn typed_value(ty: Ty) -> BoxedStrategy<String> {
    let number = prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "100000000000000000000",
            "1e400",
            "1e20",
            "0",
            "0.2",
            "0.7",
            "2",
            "10",
            "30",
            "31",
            "0.0000001"
        ])
        .prop_map(str::to_string),
        (0u32..100_000).prop_map(|n| n.to_string()),
    ];
    let unit = prop::sample::select(vec!["ms", "s", "m", "min", "h", "d", "x", " s"]);
    let typed = match ty {
        Ty::Duration => (number, unit).prop_map(|(n, u)| format!("\"{n}{u}\"")).boxed(),
        Ty::Text => prop_oneof![
            prop::sample::select(vec![
                "en",
                "de",
                "auto",
                "fr",
                "discard",
                "log",
                "keep",
                "hey_jarvis",
                "kitchen",
                "homeassistant",
                "a/b",
                "#",
                "+",
                "",
                "ha/"
            ])
            .prop_map(|w| toml::Value::String(w.to_string()).to_string()),
            "\\PC{0,16}".prop_map(|s| toml::Value::String(s).to_string()),
        ]
        .boxed(),
        Ty::Count => prop_oneof![
            prop::sample::select(vec![0i64, 1, 2, 64, 65, 1883, 65_535, 65_536, -1, 1000, 5_000_000_000]),
            any::<i64>(),
        ]
        .prop_map(|n| n.to_string())
        .boxed(),
        Ty::Number => prop_oneof![
            prop::sample::select(vec![
                "nan", "inf", "-inf", "1e308", "0.0", "0.5", "1.0", "100.0", "100.5", "-1.0", "1", "0"
            ])
            .prop_map(str::to_string),
            any::<f64>().prop_map(|f| format!("{f:?}")),
        ]
        .boxed(),
        Ty::Flag => any::<bool>().prop_map(|b| b.to_string()).boxed(),
        Ty::Names => prop::collection::vec("[A-Za-z ]{0,8}", 0..3)
            .prop_map(|v| toml::Value::try_from(v).unwrap().to_string())
            .boxed(),
    };
    prop_oneof![5 => typed, 1 => toml_value()].boxed()
}

/// Config text: known keys with hostile values, an entity and a custom intent or two.
fn config_text() -> impl Strategy<Value = String> {
    let plain = prop::collection::vec(
        prop::sample::select(CONFIG_KEYS).prop_flat_map(|(section, key, ty)| (Just((section, key)), typed_value(ty))),
        0..8,
    );
    let entity_keys = prop::sample::select(
        [&["aliases", "area", "command_topic", "schema", "allow_unlock"], RANGED_KEYS, &["cmd_t"]].concat(),
    );
    let entity = (
        prop::sample::select(WORDS),
        prop::sample::select(vec!["light", "switch", "fan", "cover", "climate", "lock", "valve", "vacuum"]),
        prop::collection::vec(
            entity_keys.prop_flat_map(|key| {
                let ty = match key {
                    "aliases" => Ty::Names,
                    "allow_unlock" => Ty::Flag,
                    "area" | "command_topic" | "schema" | "cmd_t" => Ty::Text,
                    _ => Ty::Number,
                };
                (Just(key), typed_value(ty))
            }),
            0..4,
        ),
    );
    let custom = (prop::sample::select(WORDS), typed_value(Ty::Text), typed_value(Ty::Text));
    (plain, prop::collection::vec(entity, 0..3), prop::collection::vec(custom, 0..2)).prop_map(
        |(plain, entities, customs)| {
            let mut text = String::new();
            // One table per section and one value per key, so the TOML itself stays valid.
            let mut sections: Vec<&str> = plain.iter().map(|((s, _), _)| *s).collect();
            sections.sort_unstable();
            sections.dedup();
            for section in sections {
                text.push_str(&format!("[{section}]\n"));
                let mut seen = Vec::new();
                for ((_, key), value) in plain.iter().filter(|((s, _), _)| *s == section) {
                    if !seen.contains(key) {
                        seen.push(*key);
                        text.push_str(&format!("{key} = {value}\n"));
                    }
                }
            }
            for (name, kind, keys) in entities {
                text.push_str(&format!("[[entity]]\nname = {}\nkind = \"{kind}\"\n", toml::Value::String(name.into())));
                let mut seen = Vec::new();
                for (key, value) in keys {
                    if !seen.contains(&key) {
                        seen.push(key);
                        text.push_str(&format!("{key} = {value}\n"));
                    }
                }
            }
            for (name, sentence, topic) in customs {
                text.push_str(&format!(
                    "[[intent.custom]]\nname = {}\nsentences = [{sentence}]\ntopic = {topic}\n",
                    toml::Value::String(name.into())
                ));
            }
            text
        },
    )
}

/// Parses and validates; a valid result must hold every value within its documented range.
fn check_config(text: &str) {
    let path = Path::new("fuzz.toml");
    let Ok(raw) = RawConfig::parse(text, path) else { return };
    let Ok(s) = raw.validate(path, Path::new("/etc/hearth")) else { return };
    let within = |d, (min, max)| (min..=max).contains(&d);
    assert!(within(s.wake.refractory, config::REFRACTORY_RANGE));
    assert!(within(s.endpoint.end_silence, config::END_SILENCE_RANGE));
    assert!(within(s.endpoint.max_command, config::MAX_COMMAND_RANGE));
    assert!(within(s.endpoint.no_speech_timeout, config::NO_SPEECH_TIMEOUT_RANGE));
    assert!(within(s.privacy.keep_for, config::KEEP_FOR_RANGE));
    assert!(config::STT_THREADS_RANGE.contains(&s.stt.threads));
    assert!(s.audio.gain > 0.0 && s.audio.gain <= 100.0);
    assert!(s.wake.threshold > 0.0 && s.wake.threshold < 1.0);
    assert!(s.mqtt.port > 0);
    assert!(!s.mqtt.discovery_prefix.is_empty() && !s.mqtt.discovery_prefix.contains(['+', '#', '\0']));
    // The registry from a valid config either builds or says which entity is wrong.
    let _ = EntityRegistry::from_settings(&s);
}

proptest! {
    #![proptest_config(cases(6_000))]

    #[test]
    fn config_values_never_panic(text in config_text()) {
        check_config(&text);
    }

    #[test]
    fn config_text_never_panics(text in "\\PC{0,200}") {
        check_config(&text);
    }

    #[test]
    fn durations_never_panic(text in "\\PC{0,24}", number in any::<f64>(), unit in "(ms|s|m|min|h|d)") {
        let _ = config::parse_duration(&text);
        let _ = config::parse_duration(&format!("{number}{unit}"));
        let _ = config::parse_duration(&format!("{number:e}{unit}"));
    }
}

// ---- WAV ----

/// A WAV file: a RIFF header (fmt chunk, possibly extensible, possibly an extra chunk), data.
fn wav_bytes() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![4 => Just(1u16), 2 => Just(3), 1 => prop::sample::select(vec![0xFFFE, 2, 0])];
    let channels = prop_oneof![6 => prop::sample::select(vec![1u16, 2, 6]), 1 => prop::sample::select(vec![256, 257, 0]), 1 => any::<u16>()];
    let rate = prop_oneof![
        6 => prop::sample::select(vec![8_000u32, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000, 44_101]),
        1 => prop::sample::select(vec![0u32, 1, 7_999, 192_001]),
        1 => any::<u32>(),
    ];
    let bits =
        prop_oneof![6 => prop::sample::select(vec![8u16, 16, 24, 32]), 1 => prop::sample::select(vec![64u16, 0, 12])];
    let data = prop::collection::vec(any::<u8>(), 0..3_000);
    let consistent = prop::bool::weighted(0.75);
    (tag, channels, rate, bits, data, any::<bool>(), any::<bool>(), consistent).prop_map(
        |(tag, channels, rate, mut bits, mut data, extensible, list_chunk, consistent)| {
            if consistent {
                // Mostly what a real file holds: 32-bit floats, whole frames of data.
                if tag == 3 {
                    bits = 32;
                }
                let frame = usize::from(channels) * usize::from(bits / 8);
                if let Some(frames) = data.len().checked_div(frame) {
                    data.truncate(frames * frame);
                }
            }
            let align = (u32::from(channels) * u32::from(bits) / 8) as u16;
            let mut fmt = Vec::new();
            fmt.extend_from_slice(&(if extensible { 0xFFFE } else { tag }).to_le_bytes());
            fmt.extend_from_slice(&channels.to_le_bytes());
            fmt.extend_from_slice(&rate.to_le_bytes());
            fmt.extend_from_slice(&rate.wrapping_mul(u32::from(align)).to_le_bytes());
            fmt.extend_from_slice(&align.to_le_bytes());
            fmt.extend_from_slice(&bits.to_le_bytes());
            if extensible {
                fmt.extend_from_slice(&22u16.to_le_bytes());
                fmt.extend_from_slice(&bits.to_le_bytes());
                fmt.extend_from_slice(&0u32.to_le_bytes());
                fmt.extend_from_slice(&tag.to_le_bytes());
                fmt.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
            }
            let mut body = b"WAVE".to_vec();
            body.extend_from_slice(b"fmt ");
            body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
            body.extend_from_slice(&fmt);
            if list_chunk {
                body.extend_from_slice(b"LIST\x04\x00\x00\x00INFO");
            }
            body.extend_from_slice(b"data");
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(&data);
            let mut out = b"RIFF".to_vec();
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&body);
            out
        },
    )
}

/// `bytes` with some bytes overwritten (mostly in the header) and maybe cut short.
fn mutated(bytes: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop_oneof![2 => Just(Vec::new()), 1 => prop::collection::vec((0usize..80, any::<u8>()), 1..4)];
    let cut = prop_oneof![3 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)];
    (bytes, edits, cut).prop_map(|(mut bytes, edits, cut)| {
        for (at, b) in edits {
            if at < bytes.len() {
                bytes[at] = b;
            }
        }
        if let Some(cut) = cut {
            let len = cut.index(bytes.len() + 1);
            bytes.truncate(len);
        }
        bytes
    })
}

fn read_wav_bytes(dir: &Path, bytes: &[u8]) {
    let path = dir.join("case.wav");
    std::fs::write(&path, bytes).unwrap();
    if let Ok(samples) = hearth::audio::read_wav(&path) {
        // Whatever was decoded is no longer than the file's bytes could hold at 8 kHz, 8-bit.
        assert!(
            samples.len() as u64 <= bytes.len() as u64 * 2 + 16_000,
            "{} samples from {} bytes",
            samples.len(),
            bytes.len()
        );
    }
}

proptest! {
    #![proptest_config(cases(4_000))]

    #[test]
    fn wav_headers_never_panic(bytes in mutated(wav_bytes())) {
        let dir = support::tempdir();
        read_wav_bytes(dir.path(), &bytes);
    }

    #[test]
    fn wav_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let dir = support::tempdir();
        let mut riff = b"RIFF\x00\x00\x00\x00WAVE".to_vec();
        riff.extend_from_slice(&bytes);
        read_wav_bytes(dir.path(), &bytes);
        read_wav_bytes(dir.path(), &riff);
    }
}

// ---- model files ----

/// A file of bytes with edits laid over it and a length, readable without copying it.
struct Patched<'a> {
    base: &'a [u8],
    edits: Vec<(u64, u8)>,
    len: u64,
    pos: u64,
}

impl Read for Patched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len.saturating_sub(self.pos) as usize).min(buf.len());
        let start = self.pos as usize;
        buf[..n].copy_from_slice(&self.base[start..start + n]);
        for &(at, b) in &self.edits {
            if (self.pos..self.pos + n as u64).contains(&at) {
                buf[(at - self.pos) as usize] = b;
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Patched<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => p as i64,
            SeekFrom::End(d) => self.len as i64 + d,
            SeekFrom::Current(d) => self.pos as i64 + d,
        };
        self.pos = u64::try_from(target).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.pos)
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn model_check_never_panics_on_damaged_models() {
    let path = support::model("ggml-tiny.en.bin");
    let base = std::fs::read(&path).unwrap();
    let len = base.len() as u64;
    hearth::model::check_file(&path).expect("the real model passes");
    // Where the structure is: the header and filters, the vocabulary, the first tensor headers.
    let structure = 0u64..600_000;
    let mut runner = proptest::test_runner::TestRunner::new(cases(2_000));
    let edits = prop::collection::vec((prop_oneof![structure, 0..len], any::<u8>()), 1..5);
    let cut = prop_oneof![Just(len), 0..len];
    runner
        .run(&(edits, cut), |(edits, cut)| {
            let mut file = Patched { base: &base, edits, len: cut, pos: 0 };
            let _ = hearth::model::check::check_model(&mut file, cut);
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(cases(6_000))]

    #[test]
    fn model_check_never_panics_on_any_bytes(mut bytes in prop::collection::vec(any::<u8>(), 0..400), magic in any::<bool>()) {
        if magic && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(b"lmgg");
        }
        let len = bytes.len() as u64;
        prop_assert!(hearth::model::check::check_model(&mut io::Cursor::new(bytes), len).is_err());
    }
}

// ---- discovery and commands ----

fn topic() -> impl Strategy<Value = String> {
    let segment = prop::sample::select(vec![
        "homeassistant",
        "light",
        "switch",
        "cover",
        "device",
        "lock",
        "config",
        "x",
        "node",
        "",
        "+",
        "#",
        "status",
    ]);
    let component =
        prop::sample::select(vec!["light", "fan", "climate", "valve", "switch", "cover", "lock", "scene", "weather"]);
    prop_oneof![
        1 => prop::collection::vec(segment, 0..6).prop_map(|s| s.join("/")),
        4 => (component.clone(), "[a-z0-9_]{1,6}").prop_map(|(k, o)| format!("homeassistant/{k}/{o}/config")),
        2 => (component, "[a-z0-9_]{1,4}", "[a-z0-9_]{1,4}").prop_map(|(k, n, o)| format!("homeassistant/{k}/{n}/{o}/config")),
        2 => "[a-z0-9_]{1,4}".prop_map(|o| format!("homeassistant/device/{o}/config")),
        1 => "\\PC{0,30}",
    ]
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    let component =
        (prop::sample::select(vec!["light", "switch", "fan", "cover", "climate", "lock", "valve", "x"]), json_config())
            .prop_map(|(p, mut c)| {
                c.insert("p".into(), Value::String(p.into()));
                Value::Object(c)
            });
    let device =
        (json_config(), prop::collection::btree_map("[a-z]{1,3}", component, 0..4)).prop_map(|(mut d, cmps)| {
            d.insert("cmps".into(), Value::Object(cmps.into_iter().collect()));
            serde_json::to_vec(&Value::Object(d)).unwrap()
        });
    prop_oneof![
        4 => json_config().prop_map(|c| serde_json::to_vec(&Value::Object(c)).unwrap()),
        2 => device,
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(cases(8_000))]

    #[test]
    fn discovery_never_panics(messages in prop::collection::vec((topic(), payload()), 1..6)) {
        let mut registry = EntityRegistry::new();
        let mut topics = DiscoveredTopics::default();
        let skipped = topics.ingest(&mut registry, "homeassistant", messages.iter().map(|(t, p)| (t.as_str(), p.as_slice())));
        for why in skipped {
            let why = why.to_string();
            prop_assert!(!why.chars().any(char::is_control), "unescaped: {why:?}");
        }
        // Every entity that got in takes every action without panicking.
        for index in 0..registry.len() {
            for a in [Action::TurnOn, Action::TurnOff, Action::Brightness(50), Action::Position(100), Action::Temperature(21.5), Action::Percentage(1), Action::Unlock, Action::Open, Action::Stop] {
                let _ = registry.commands(index, a);
            }
        }
    }

    #[test]
    fn commands_never_panic(kind in kind(), config in json_config(), action in action(), unlock in any::<bool>(), open in any::<bool>()) {
        // Straight into the builder, past the entity checks: it must cope with anything.
        let mut raw = Entity::new("fuzz.x", "Fuzz", kind);
        raw.config = home::normalize_discovery(&config);
        raw.allow_unlock = unlock;
        raw.allow_open = open;
        let _ = alone(raw).commands(0, action);
        // Through discovery, with the range checks: a checked light's brightness is in its scale.
        if let Ok(e) = Entity::from_discovery(kind.domain(), "x", &Value::Object(config)) {
            let registry = alone(e.clone());
            if let (Kind::Light, Action::Brightness(pct @ 1..=100), Ok(cmds)) = (kind, action, registry.commands(0, action)) {
                let scale = e.key("brightness_scale").and_then(|s| s.parse::<f64>().ok()).unwrap_or(255.0);
                for c in cmds {
                    if let Some(n) = serde_json::from_str::<Value>(&c.payload).ok().and_then(|v| v.get("brightness").and_then(Value::as_f64)) {
                        prop_assert!((1.0..=scale).contains(&n), "{pct}% -> {n} of {scale}");
                    }
                }
            }
        }
    }
}

/// A registry holding only `entity`, so its commands are built (and guarded) as in a home.
fn alone(entity: Entity) -> EntityRegistry {
    let mut registry = EntityRegistry::new();
    registry.insert(entity);
    registry
}
