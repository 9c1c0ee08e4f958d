//! Intent recognition: a transcript in, a Home Assistant intent out — with the MQTT commands it
//! means for the devices in the [`EntityRegistry`].
//!
//! When Home Assistant's sentence data is loaded ([`Recognizer::with_assist`], `[intent] data`),
//! [`Recognizer::recognize`] first understands the text as Assist would ([`ha`]: its templates,
//! lists and ranking over this home's names, areas and floors). Only when none of those
//! sentences matches does it fall back to Hearth's own sentences, described below.
//!
//! Hearth's own path normalises the text (case, punctuation, hyphens, "50%", numbers in
//! words, filler such as "please"/"bitte", German compounds such as "Küchenlicht"), matches it
//! against sentence templates, fills `{name}` and `{area}` from the registry with fuzzy matching
//! (small mishearings such as "kitchen lite" still match; unrelated words do not), picks the best
//! match, resolves its target entities, and builds their commands with
//! [`crate::home::EntityRegistry::commands`].
//! Intent and slot names follow Home Assistant (`HassTurnOn` with `name`, `area`, `domain`, ...)
//! so automations written for Assist keep working. Anything that matches no template well
//! enough gives `None`: a wrong action is far worse than none.
//!
//! **Invariant:** recognition is pure — no I/O, no clock, no global state beyond the compiled
//! built-in sentences. The same text, registry and context always give the same result.
//!
//! # Sentence templates
//!
//! Built-in sentences live in `sentences/<language>/*.yaml` (embedded in the binary), written
//! in Home Assistant's sentence format, the one of `custom_sentences/<lang>/*.yaml` (hassil
//! loads them as they are; `tests/hassil.rs` checks that it reads them as Hearth does); users
//! add their own in `config.toml` under `[[intent.custom]]`. A template is a line of words:
//!
//! | Syntax          | Meaning                                                           |
//! |-----------------|-------------------------------------------------------------------|
//! | `word`          | the word itself; case, accents and punctuation do not matter      |
//! | `(a\|b c)`      | one of the alternatives (each may be several words)               |
//! | `[x]`           | `x` or nothing                                                    |
//! | `{name}`        | a device name or alias from the registry (fuzzy)                  |
//! | `{area}`        | an area from the registry, or the satellite's own (fuzzy)         |
//! | `{list}`        | a value from the slot list `list` (see below)                     |
//! | `{list:slot}`   | the same, reported in slot `slot` (`{percent:brightness}`)        |
//! | `<rule>`        | the template named `rule` in `expansion_rules`                    |
//!
//! Example: `"(turn|switch) on [the] {name} [<in_area>]"`. Transcripts are normalised before
//! matching, so templates need no punctuation or digits-versus-words variants: "fifty percent",
//! "50%" and "50 %" all arrive as `50 percent`.
//!
//! A sentence file holds (any part may be missing):
//!
//! ```yaml
//! language: en
//! skip_words: ["please"]             # dropped wherever they occur
//! expansion_rules:                   # reusable templates, used as <the>, <turn_on> ...
//!   the: "(the|my)"
//! lists:
//!   brightness:                      # {brightness}: a number 0..100, digits or words
//!     range: {from: 0, to: 100}
//!   temperature:
//!     range: {from: 5, to: 35, fractions: tenths}   # "21.5" allowed
//!   state:                           # {state}: phrases and the value reported
//!     values:
//!       - {in: "switched on", out: "on"}
//!       - "off"
//! intents:
//!   HassTurnOn:                      # Home Assistant intent name
//!     data:
//!       - sentences: ["<turn_on> [the] {name}"]
//!         requires_context: {domain: light}   # what {name} may be, as in Home Assistant
//!       - sentences: ["<turn_on> [the] lights <in_area>"]
//!         slots: {domain: light}              # fixed slots reported with every match
//!         metadata: {targets: [light]}        # what it acts on in the area (Hearth's)
//! ```
//!
//! `requires_context` takes `domain` and `device_class` (one or a list); without it `{name}`
//! may be any kind the intent usually acts on. A block without `{name}` targets every entity
//! of its `metadata` `targets` (kinds, or `kind.device_class`, `cover.none` for covers
//! without a class) in the area said, or else in the satellite's area ([`Context::area`]);
//! `everywhere: true` in `metadata` targets the whole
//! home. One file per language also has a `normalize` table (filler phrases at the start and
//! end, contractions, the words for "%" and "°", device words that German glues to area
//! names, names too generic to name one device); hassil ignores it.
//!
//! In `config.toml`, `[[intent.custom]]` takes `name`, `sentences`, and optionally `language`,
//! `slots`, `domains`; with a built-in name the sentences join that intent, with any other name
//! they form the user's own intent, which may publish `topic`/`payload` (`{slot}` substituted).

mod fuzzy;
mod grammar;
pub mod ha;
mod matcher;
mod normalize;
pub(crate) mod numbers;
pub mod template;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::config::Settings;
use crate::home::{CommandError, EntityRegistry, Escaped, MqttCommand, fold};

pub use grammar::{Builtin, CustomIntent, CustomMessage};
use grammar::{Grammar, Group};
use matcher::{CapValue, Parse, Search};

/// A language. English and German have number words and Hearth's own sentences; any other
/// language of Home Assistant's sentence data (`fr`, `nl`, `pt-BR`, ...) is understood from
/// that data alone, with numbers as digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    En,
    /// German.
    De,
    /// Any other language, by its code.
    Other(LanguageCode),
}

/// A language code other than `en` and `de`: letters, digits, `-` and `_`, at most
/// [`LanguageCode::MAX`] characters, starting with two or three letters (`fr`, `pt-BR`,
/// `sr_Latn`). Kept inline so a [`Language`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode {
    bytes: [u8; LanguageCode::MAX],
    len: u8,
}

impl LanguageCode {
    /// Longest code accepted.
    pub const MAX: usize = 12;

    fn as_str(&self) -> &str {
        // Only ASCII is ever stored (`Language::parse`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for LanguageCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Language {
    /// The code: `en`, `de`, or the other code as parsed.
    pub fn code(&self) -> &str {
        match self {
            Language::En => "en",
            Language::De => "de",
            Language::Other(code) => code.as_str(),
        }
    }

    /// The language part of the code, lower case, as whisper names languages (`pt-BR` → `pt`).
    pub fn base(&self) -> String {
        let code = self.code();
        code.split(['-', '_']).next().unwrap_or(code).to_ascii_lowercase()
    }

    /// Whether Hearth has sentences of its own in this language (English and German, in
    /// `sentences/`, and so `[[intent.custom]]`); other languages need Home Assistant's data.
    pub fn has_own_sentences(&self) -> bool {
        matches!(self, Language::En | Language::De)
    }

    /// Whether numbers said in words are understood (English and German); other languages
    /// take digits, which is what whisper writes for most numbers.
    pub fn has_number_words(&self) -> bool {
        matches!(self, Language::En | Language::De)
    }

    /// Parses a language code: `en` and `de` (any case), or another well-formed code, kept
    /// as written apart from the language part, which is lowered (`FR` → `fr`, `pt-BR`).
    pub fn parse(code: &str) -> Option<Language> {
        let code = code.trim();
        let lead = code.bytes().take_while(u8::is_ascii_alphabetic).count();
        let well_formed = (2..=3).contains(&lead)
            && code.len() <= LanguageCode::MAX
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && (code.len() == lead || matches!(code.as_bytes()[lead], b'-' | b'_'))
            && !code.ends_with(['-', '_']);
        if !well_formed {
            return None;
        }
        let mut bytes = [0u8; LanguageCode::MAX];
        for (i, b) in code.bytes().enumerate() {
            bytes[i] = if i < lead { b.to_ascii_lowercase() } else { b };
        }
        let other = LanguageCode { bytes, len: code.len() as u8 };
        Some(match other.as_str() {
            "en" => Language::En,
            "de" => Language::De,
            _ => Language::Other(other),
        })
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Where and how a sentence was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The language of the transcript.
    pub language: Language,
    /// The area the satellite stands in: "turn on the light" means the light here.
    pub area: Option<String>,
}

/// A slot value: text or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum SlotValue {
    /// Names, areas, domains, states.
    Text(String),
    /// Brightness, temperature, minutes, ...
    Number(f64),
}

impl SlotValue {
    /// The number, if it is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            SlotValue::Number(n) => Some(*n),
            SlotValue::Text(_) => None,
        }
    }

    /// As JSON: a string, or a number (integral values without a fraction).
    pub fn to_json(&self) -> Value {
        match self {
            SlotValue::Text(s) => Value::String(s.clone()),
            SlotValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => Value::from(*n as i64),
            SlotValue::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        }
    }
}

impl std::fmt::Display for SlotValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotValue::Text(s) => f.write_str(s),
            SlotValue::Number(n) => f.write_str(&numbers::format(*n)),
        }
    }
}

/// A recognised intent and what it means for the devices.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentMatch {
    /// Intent name (`HassTurnOn`, or the user's own).
    pub name: String,
    /// Slots, Home Assistant style: `name`, `area`, `domain`, `brightness`, ...
    pub slots: BTreeMap<String, SlotValue>,
    /// Ids of the entities acted on or asked about.
    pub targets: Vec<String>,
    /// MQTT messages to publish, in order.
    pub actions: Vec<MqttCommand>,
    /// Why (some) targets get no command: a guarded action not allowed, or a device that
    /// cannot do it.
    pub refused: Option<String>,
    /// Confidence in (0, 1]: 1 when every name matched exactly.
    pub score: f32,
    /// The key of Home Assistant's response template for the match (`lights_area`, ...);
    /// `None` for Hearth's own sentences.
    pub response: Option<String>,
}

impl IntentMatch {
    /// `{"name": ..., "slots": {...}}`, the intent as Home Assistant events carry it.
    pub fn intent_json(&self) -> Value {
        let slots: serde_json::Map<String, Value> = self.slots.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        serde_json::json!({"name": self.name, "slots": slots})
    }
}

/// A problem in sentence templates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntentError {
    /// A built-in sentence file is broken (a bug in Hearth).
    #[error("built-in sentence file sentences/{file} is invalid: {message}")]
    Data {
        /// File.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A template does not parse or refers to an unknown rule or list.
    #[error(
        "{source_name}: sentence {template:?}: {message}; fix the template (see the template language in the docs of src/intent/mod.rs)"
    )]
    Template {
        /// Where it comes from.
        source_name: String,
        /// The template.
        template: String,
        /// What is wrong.
        message: String,
    },
    /// A custom intent named like a built-in one that does not exist.
    #[error("[[intent.custom]] {0:?} is not a built-in intent; use a built-in name ({names}) or a name not starting with \"Hass\"", names = builtin_names())]
    UnknownIntent(String),
    /// A custom intent targets an unknown kind.
    #[error(
        "[[intent.custom]] {intent:?}: domain {domain:?} is unknown; use an entity kind such as light, cover or cover.garage"
    )]
    Domain {
        /// The intent.
        intent: String,
        /// The domain as written.
        domain: String,
    },
}

fn builtin_names() -> String {
    Builtin::ALL.iter().map(|b| b.name()).collect::<Vec<_>>().join(", ")
}

/// Compiled sentences for English and German. Build once at start; recognition is then pure.
#[derive(Debug, Clone)]
pub struct Recognizer {
    en: Grammar,
    de: Grammar,
    /// Home Assistant's sentence data, tried first when loaded.
    assist: Option<std::sync::Arc<ha::assist::Assist>>,
}

impl Recognizer {
    /// The built-in sentences plus the user's.
    pub fn new(custom: &[CustomIntent]) -> Result<Recognizer, IntentError> {
        Ok(Recognizer {
            en: Grammar::build(Language::En, custom)?,
            de: Grammar::build(Language::De, custom)?,
            assist: None,
        })
    }

    /// Adds Home Assistant's sentence data: it is tried first, Hearth's own sentences only
    /// when none of its sentences matches.
    pub fn with_assist(mut self, assist: ha::assist::Assist) -> Recognizer {
        self.assist = Some(std::sync::Arc::new(assist));
        self
    }

    /// The response templates of Home Assistant's data, by language code (none without the data).
    pub fn responses(&self) -> Vec<(&str, &Value)> {
        self.assist.iter().flat_map(|a| a.grammars().map(|g| (g.language.as_str(), &g.responses))).collect()
    }

    /// The built-in sentences plus `[[intent.custom]]` from the config (custom sentences without
    /// a `language` are in `[intent] language`).
    pub fn from_settings(settings: &Settings) -> Result<Recognizer, IntentError> {
        let default_language = settings.intent_language;
        let custom: Vec<CustomIntent> = settings
            .intent_custom
            .iter()
            .map(|c| CustomIntent {
                name: c.name.trim().to_string(),
                sentences: c.sentences.clone(),
                language: Some(c.language.as_deref().and_then(Language::parse).unwrap_or(default_language)),
                slots: c
                    .slots
                    .iter()
                    .map(|(k, v)| {
                        let value = match v {
                            toml::Value::Integer(i) => SlotValue::Number(*i as f64),
                            toml::Value::Float(f) => SlotValue::Number(*f),
                            toml::Value::String(s) => SlotValue::Text(s.clone()),
                            other => SlotValue::Text(other.to_string()),
                        };
                        (k.clone(), value)
                    })
                    .collect(),
                domains: c.domains.clone(),
                message: c.topic.as_ref().map(|topic| CustomMessage {
                    topic: topic.clone(),
                    payload: c.payload.clone().unwrap_or_default(),
                }),
            })
            .collect();
        Recognizer::new(&custom)
    }

    /// Hearth's own sentences in `language` (English and German only).
    fn grammar(&self, language: Language) -> Option<&Grammar> {
        match language {
            Language::En => Some(&self.en),
            Language::De => Some(&self.de),
            Language::Other(_) => None,
        }
    }

    /// Recognises the intent in `text`, or `None` if no template matches well enough.
    pub fn recognize(&self, text: &str, registry: &EntityRegistry, context: &Context) -> Option<IntentMatch> {
        let assisted = self.assist.as_ref().and_then(|a| a.recognize(text, registry, context));
        match assisted {
            Some(found) if found.score >= 1.0 => Some(found),
            // A name Home Assistant's sentences only matched misheard ("the bedroom lights" as
            // the Bedroom Light) loses to a reading of Hearth's own sentences with every word
            // as said (the bedroom's lights).
            Some(found) => match self.recognize_own(text, registry, context) {
                Some(own) if own.score >= 1.0 => Some(own),
                _ => Some(found),
            },
            None => self.recognize_own(text, registry, context),
        }
    }

    /// [`Recognizer::recognize`] with Hearth's own sentences only.
    fn recognize_own(&self, text: &str, registry: &EntityRegistry, context: &Context) -> Option<IntentMatch> {
        let g = self.grammar(context.language)?;
        let norm = g.normalizer.normalize(text, registry);
        let context_area =
            context.area.as_deref().map(|a| (a.trim().to_string(), fold(a))).filter(|(_, k)| !k.is_empty());
        let mut search = Search::new(g, registry, &norm, context_area.clone());
        search.run();
        let mut parses = std::mem::take(&mut search.parses);
        // A name written with invisible or look-alike characters loses every tie to a plain one,
        // so "Kitchen\u{200b}Light" cannot take "kitchen light" from the real Kitchen Light.
        let disguised = |p: &Parse| {
            p.caps.iter().any(|c| match c.value {
                CapValue::Name(i) => search.names[i as usize].entities.iter().all(|e| e.disguised),
                _ => false,
            })
        };
        parses.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(disguised(a).cmp(&disguised(b)))
                .then(b.has_name.cmp(&a.has_name))
                .then(b.literals.cmp(&a.literals))
                .then(a.template.cmp(&b.template))
        });
        let resolver = Resolver { g, registry, search: &search, context_area: context_area.as_ref() };
        let mut best: Option<(&Parse, IntentMatch)> = None;
        for parse in &parses {
            if let Some((first, chosen)) = &best {
                let tied = (parse.score - first.score).abs() < 1e-6
                    && disguised(parse) == disguised(first)
                    && parse.has_name == first.has_name
                    && parse.literals == first.literals;
                if !tied {
                    break;
                }
                if let Some(other) = resolver.resolve(parse)
                    && (other.name != chosen.name || other.targets != chosen.targets || other.actions != chosen.actions)
                {
                    // Two equally good readings that mean different things: ask for nothing.
                    return None;
                }
            } else if let Some(m) = resolver.resolve(parse) {
                best = Some((parse, m));
            }
        }
        best.map(|(_, m)| m)
    }
}

/// Recognises `text` with the built-in sentences only (compiled on first use).
#[allow(clippy::expect_used, reason = "the embedded sentences are fixed at build time and compiled by the tests")]
pub fn recognize(text: &str, registry: &EntityRegistry, context: &Context) -> Option<IntentMatch> {
    static BUILTIN: OnceLock<Recognizer> = OnceLock::new();
    BUILTIN
        .get_or_init(|| Recognizer::new(&[]).expect("built-in sentences compile (tested)"))
        .recognize(text, registry, context)
}

/// Turns a parse into an intent with targets and commands.
struct Resolver<'a> {
    g: &'a Grammar,
    registry: &'a EntityRegistry,
    search: &'a Search<'a>,
    context_area: Option<&'a (String, String)>,
}

impl Resolver<'_> {
    fn admits(&self, group: &Group, index: usize) -> bool {
        let entity = self.registry.at(index);
        group.domains.is_empty() || group.domains.iter().any(|d| d.admits(entity))
    }

    fn area_key(&self, index: usize) -> Option<&str> {
        self.registry.entries()[index].area_key.as_deref()
    }

    fn resolve(&self, parse: &Parse) -> Option<IntentMatch> {
        let group = &self.g.groups[parse.group];
        let mut slots: BTreeMap<String, SlotValue> = group.fixed.iter().cloned().collect();
        let mut name = None;
        let mut area = None;
        for cap in &parse.caps {
            let slot = self.g.slots[cap.slot as usize].slot.clone();
            match &cap.value {
                CapValue::Name(i) => name = Some(&self.search.names[*i as usize]),
                CapValue::Area(i) => area = Some(&self.search.areas[*i as usize]),
                CapValue::Number(n) => {
                    slots.insert(slot, SlotValue::Number(*n));
                }
                CapValue::Text(t) => {
                    slots.insert(slot, SlotValue::Text(t.clone()));
                }
            }
        }
        let said_area = area.map(|a| (a.name.clone(), a.key.clone()));
        let needs_targets = group.builtin.is_some_and(Builtin::needs_targets);

        let mut targets: Vec<usize> = Vec::new();
        if let Some(nm) = name {
            let meant_area = said_area.as_ref().or(self.context_area).map(|(_, k)| k.as_str());
            let mut candidates: Vec<_> = nm
                .entities
                .iter()
                .filter(|c| self.admits(group, c.index))
                .filter(|c| said_area.as_ref().is_none_or(|(_, k)| self.area_key(c.index) == Some(k.as_str())))
                .filter(|c| !c.derived || (meant_area.is_some() && self.area_key(c.index) == meant_area))
                .collect();
            // A look-alike ("Kitchen\u{200b} Light") answers only when no plainly written name does.
            if candidates.iter().any(|c| !c.disguised) {
                candidates.retain(|c| !c.disguised);
            }
            let mut found: Vec<usize> = candidates.iter().map(|c| c.index).collect();
            if found.len() > 1
                && let Some((_, here)) = self.context_area
            {
                let local: Vec<usize> =
                    found.iter().copied().filter(|i| self.area_key(*i) == Some(here.as_str())).collect();
                if !local.is_empty() {
                    found = local;
                }
            }
            let first_area = found.first().map(|i| self.area_key(*i));
            if found.is_empty() || found.iter().any(|i| Some(self.area_key(*i)) != first_area) {
                return None;
            }
            slots.insert("name".into(), SlotValue::Text(self.registry.at(found[0]).name.clone()));
            if let Some((area_name, _)) = &said_area {
                slots.insert("area".into(), SlotValue::Text(area_name.clone()));
            }
            targets = found;
        } else if needs_targets || said_area.is_some() {
            let all = || (0..self.registry.len()).filter(|i| self.admits(group, *i));
            if group.everywhere {
                targets = all().collect();
            } else if let Some((area_name, key)) = said_area.as_ref().or(self.context_area) {
                targets = all().filter(|i| self.area_key(*i) == Some(key.as_str())).collect();
                slots.insert("area".into(), SlotValue::Text(area_name.clone()));
            } else if matches!(group.builtin, Some(Builtin::ClimateSetTemperature | Builtin::ClimateGetTemperature)) {
                // No area anywhere: fine when the home has a single thermostat.
                targets = all().collect();
                if targets.len() != 1 {
                    return None;
                }
            }
            if targets.is_empty() {
                return None;
            }
        }
        if group.builtin == Some(Builtin::StartTimer) {
            let total: f64 = ["hours", "minutes", "seconds"].iter().filter_map(|s| slots.get(*s)?.as_number()).sum();
            if total <= 0.0 {
                return None;
            }
        }

        let Commands { actions, mut refused, unsupported } = match (group.builtin, &group.message) {
            (_, Some(message)) => {
                let mut payload = message.payload.clone();
                for (k, v) in &slots {
                    payload = payload.replace(&format!("{{{k}}}"), &v.to_string());
                }
                let command = MqttCommand { topic: message.topic.clone(), payload };
                Commands { actions: vec![command], refused: Vec::new(), unsupported: Vec::new() }
            }
            (Some(builtin), None) => builtin_commands(builtin, self.registry, &targets, &slots),
            (None, None) => Commands { actions: Vec::new(), refused: Vec::new(), unsupported: Vec::new() },
        };
        // Devices that cannot do it are worth a word only when nothing at all happens.
        if actions.is_empty() {
            refused.extend(unsupported);
        }
        Some(IntentMatch {
            name: group.intent.clone(),
            slots,
            targets: targets.iter().map(|&i| self.registry.at(i).id.clone()).collect(),
            actions,
            refused: (!refused.is_empty()).then(|| refused.join("; ")),
            score: parse.score,
            response: None,
        })
    }
}

/// What a built-in intent does to its targets.
pub(crate) struct Commands {
    /// The messages, in target order.
    pub actions: Vec<MqttCommand>,
    /// Targets the unlock/open guard refused, with the reason.
    pub refused: Vec<String>,
    /// Targets that cannot do it (kind, or a missing topic).
    pub unsupported: Vec<String>,
}

/// The commands `builtin` means for each target (positions in `registry`), built by
/// [`EntityRegistry::commands`] so the guard always applies.
pub(crate) fn builtin_commands(
    builtin: Builtin,
    registry: &EntityRegistry,
    targets: &[usize],
    slots: &BTreeMap<String, SlotValue>,
) -> Commands {
    let mut done = Commands { actions: Vec::new(), refused: Vec::new(), unsupported: Vec::new() };
    for &i in targets {
        let entity = registry.at(i);
        let Some(action) = builtin.action(entity.kind, slots) else {
            if builtin.acts() {
                done.unsupported.push(format!("{} cannot do that ({})", Escaped(&entity.name), entity.kind));
            }
            continue;
        };
        match registry.commands(i, action) {
            Ok(c) => done.actions.extend(c),
            Err(CommandError::Refused { reason }) => done.refused.push(reason),
            Err(e) => done.unsupported.push(e.to_string()),
        }
    }
    done
}

#[cfg(test)]
mod tests;
