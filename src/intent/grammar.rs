//! The sentence files (`sentences/<language>/*.yaml`, embedded in the binary) and the user's
//! `[[intent.custom]]` sentences, compiled into one [`Grammar`] per language: interned words,
//! slot lists, and one [`Program`] per template, grouped by intent.
//!
//! The files are in Home Assistant's sentence format (what `custom_sentences/<lang>/*.yaml`
//! holds), so hassil reads them too: `intents` with `data` blocks of `sentences`, `slots`,
//! `requires_context` and `metadata`; `expansion_rules`; `lists` (`range` or `values` with
//! `in`/`out`); `skip_words`. Hearth reads a subset of it, and adds what hassil ignores: a
//! `normalize` table (transcript normalisation, see [`NormalizeData`]) and, in `metadata`,
//! `targets` (what a block without `{name}` acts on in the area) and `everywhere: true` (in
//! the whole home, not one area). `requires_context` (`domain`, `device_class`) limits what
//! `{name}` may be, as in Home Assistant.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

use crate::home::{Action, Entity, Kind, fold};

use super::normalize::Normalizer;
use super::template::{self, CompileError, Node, Program, Words};
use super::{IntentError, Language, SlotValue};

/// The built-in sentence files, per language (file name, text).
const FILES: &[(Language, &str, &str)] = &[
    (Language::En, "en/common.yaml", include_str!("../../sentences/en/common.yaml")),
    (Language::En, "en/control.yaml", include_str!("../../sentences/en/control.yaml")),
    (Language::En, "en/settings.yaml", include_str!("../../sentences/en/settings.yaml")),
    (Language::En, "en/state.yaml", include_str!("../../sentences/en/state.yaml")),
    (Language::En, "en/timers.yaml", include_str!("../../sentences/en/timers.yaml")),
    (Language::De, "de/common.yaml", include_str!("../../sentences/de/common.yaml")),
    (Language::De, "de/control.yaml", include_str!("../../sentences/de/control.yaml")),
    (Language::De, "de/settings.yaml", include_str!("../../sentences/de/settings.yaml")),
    (Language::De, "de/state.yaml", include_str!("../../sentences/de/state.yaml")),
    (Language::De, "de/timers.yaml", include_str!("../../sentences/de/timers.yaml")),
];

/// One sentence file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SentenceFile {
    /// The file's language code.
    language: String,
    /// Words dropped wherever they occur ("please", "bitte").
    skip_words: Vec<String>,
    /// Normalisation data (one file per language has it).
    normalize: Option<NormalizeData>,
    /// Named templates, used as `<name>`.
    expansion_rules: BTreeMap<String, String>,
    /// Slot lists, used as `{name}`.
    lists: BTreeMap<String, ListData>,
    /// Sentences per intent.
    intents: BTreeMap<String, IntentData>,
}

/// Transcript normalisation for one language: Hearth's addition to the format.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NormalizeData {
    /// Phrases dropped at the start of a sentence, repeatedly ("could you").
    filler_prefixes: Vec<String>,
    /// Phrases dropped at the end of a sentence, repeatedly ("thanks").
    filler_suffixes: Vec<String>,
    /// Words whisper writes and what they stand for ("whats" = "what is").
    replacements: BTreeMap<String, String>,
    /// The word for "%".
    percent: String,
    /// The word for "°".
    degrees: String,
    /// Device words German glues to area names ("licht" in "Küchenlicht").
    compound_suffixes: Vec<String>,
    /// Names too generic to stand for one device when derived from a name ("light").
    generic_names: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ListData {
    /// A numeric range.
    range: Option<RangeData>,
    /// Phrases and the value they stand for.
    values: Vec<ValueData>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeData {
    from: f64,
    to: f64,
    /// Whether decimals are allowed ("21.5"): `halves` or `tenths`.
    #[serde(default)]
    fractions: Option<String>,
}

/// A list value: a phrase reported as itself, or `in` reported as `out`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ValueData {
    Plain(String),
    Mapped {
        #[serde(rename = "in")]
        text: String,
        out: Value,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentData {
    data: Vec<BlockData>,
}

/// Sentences that share fixed slots and targets.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockData {
    sentences: Vec<String>,
    #[serde(default)]
    slots: BTreeMap<String, Value>,
    /// What `{name}` and areas may target.
    #[serde(default)]
    requires_context: Option<ContextData>,
    #[serde(default)]
    metadata: MetadataData,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextData {
    domain: OneOrMany,
    #[serde(default)]
    device_class: Option<OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct MetadataData {
    /// What a block without `{name}` targets in the area: kinds, or `kind.device_class`
    /// (`cover.none` = covers without a class), as `[[intent.custom]] domains`.
    targets: Vec<String>,
    /// Target every matching entity in the home, not one area.
    everywhere: bool,
}

impl ContextData {
    /// As `kind` / `kind.device_class` specs (`device_class: none` = `kind.none`).
    fn specs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for domain in self.domain.items() {
            match &self.device_class {
                None => out.push(domain.to_string()),
                Some(classes) => out.extend(classes.items().iter().map(|c| format!("{domain}.{c}"))),
            }
        }
        out
    }
}

/// Home Assistant's built-in intents that Hearth recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `HassTurnOn`: on, open (covers, valves), lock (locks), activate (scenes), press (buttons).
    TurnOn,
    /// `HassTurnOff`: off, close, unlock.
    TurnOff,
    /// `HassLightSet`: brightness.
    LightSet,
    /// `HassSetPosition`: cover/valve position.
    SetPosition,
    /// `HassStopMoving`: stop a cover/valve.
    StopMoving,
    /// `HassClimateSetTemperature`.
    ClimateSetTemperature,
    /// `HassClimateGetTemperature`.
    ClimateGetTemperature,
    /// `HassFanSetSpeed`: fan percentage.
    FanSetSpeed,
    /// `HassGetState`: a question about a device's state.
    GetState,
    /// `HassStartTimer`.
    StartTimer,
    /// `HassCancelTimer`.
    CancelTimer,
    /// `HassTimerStatus`.
    TimerStatus,
    /// `HassNevermind`.
    Nevermind,
}

impl Builtin {
    /// Every built-in intent, in documentation order.
    pub const ALL: [Builtin; 13] = [
        Builtin::TurnOn,
        Builtin::TurnOff,
        Builtin::LightSet,
        Builtin::SetPosition,
        Builtin::StopMoving,
        Builtin::ClimateSetTemperature,
        Builtin::ClimateGetTemperature,
        Builtin::FanSetSpeed,
        Builtin::GetState,
        Builtin::StartTimer,
        Builtin::CancelTimer,
        Builtin::TimerStatus,
        Builtin::Nevermind,
    ];

    /// Home Assistant's name.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::TurnOn => "HassTurnOn",
            Builtin::TurnOff => "HassTurnOff",
            Builtin::LightSet => "HassLightSet",
            Builtin::SetPosition => "HassSetPosition",
            Builtin::StopMoving => "HassStopMoving",
            Builtin::ClimateSetTemperature => "HassClimateSetTemperature",
            Builtin::ClimateGetTemperature => "HassClimateGetTemperature",
            Builtin::FanSetSpeed => "HassFanSetSpeed",
            Builtin::GetState => "HassGetState",
            Builtin::StartTimer => "HassStartTimer",
            Builtin::CancelTimer => "HassCancelTimer",
            Builtin::TimerStatus => "HassTimerStatus",
            Builtin::Nevermind => "HassNevermind",
        }
    }

    fn parse(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Whether the intent acts on or asks about devices.
    pub fn needs_targets(self) -> bool {
        !matches!(self, Builtin::StartTimer | Builtin::CancelTimer | Builtin::TimerStatus | Builtin::Nevermind)
    }

    /// Whether the intent commands devices (rather than asking or handling timers).
    pub fn acts(self) -> bool {
        matches!(
            self,
            Builtin::TurnOn
                | Builtin::TurnOff
                | Builtin::LightSet
                | Builtin::SetPosition
                | Builtin::StopMoving
                | Builtin::ClimateSetTemperature
                | Builtin::FanSetSpeed
        )
    }

    /// Kinds targeted when a group does not say.
    fn default_domains(self) -> &'static [&'static str] {
        match self {
            Builtin::TurnOn | Builtin::TurnOff => &["light", "switch", "fan", "media_player", "climate", "valve"],
            Builtin::LightSet => &["light"],
            Builtin::SetPosition | Builtin::StopMoving => &["cover", "valve"],
            Builtin::ClimateSetTemperature => &["climate"],
            Builtin::ClimateGetTemperature => &["climate", "sensor.temperature"],
            Builtin::FanSetSpeed => &["fan"],
            Builtin::GetState => &[
                "light",
                "switch",
                "fan",
                "cover",
                "climate",
                "lock",
                "valve",
                "media_player",
                "sensor",
                "binary_sensor",
            ],
            Builtin::StartTimer | Builtin::CancelTimer | Builtin::TimerStatus | Builtin::Nevermind => &[],
        }
    }

    /// The device action for one target, as Home Assistant maps the intent onto the entity's
    /// domain. `None` for questions, and for kinds the intent does nothing to.
    pub fn action(self, kind: Kind, slots: &BTreeMap<String, SlotValue>) -> Option<Action> {
        let percent =
            |slot: &str| slots.get(slot).and_then(SlotValue::as_number).map(|v| v.round().clamp(0.0, 100.0) as u8);
        match self {
            Builtin::TurnOn => Some(match kind {
                Kind::Cover | Kind::Valve => Action::Open,
                Kind::Lock => Action::Lock,
                Kind::Scene => Action::Activate,
                Kind::Button => Action::Press,
                Kind::Sensor | Kind::BinarySensor => return None,
                _ => Action::TurnOn,
            }),
            Builtin::TurnOff => Some(match kind {
                Kind::Cover | Kind::Valve => Action::Close,
                Kind::Lock => Action::Unlock,
                Kind::Scene | Kind::Button | Kind::Sensor | Kind::BinarySensor => return None,
                _ => Action::TurnOff,
            }),
            Builtin::LightSet => percent("brightness").map(Action::Brightness),
            Builtin::SetPosition => percent("position").map(Action::Position),
            Builtin::StopMoving => Some(Action::Stop),
            Builtin::ClimateSetTemperature => {
                slots.get("temperature").and_then(SlotValue::as_number).map(Action::Temperature)
            }
            Builtin::FanSetSpeed => percent("percentage").map(Action::Percentage),
            _ => None,
        }
    }
}

/// A kind of entity a group may target, optionally narrowed to a device class
/// (`cover.garage`; `cover.none` = covers without a device class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    /// The kind.
    pub kind: Kind,
    /// `None`: any device class; `Some(None)`: none; `Some(Some(c))`: class `c`.
    pub device_class: Option<Option<String>>,
}

impl DomainSpec {
    fn parse(text: &str) -> Option<DomainSpec> {
        let (kind, class) = match text.split_once('.') {
            Some((k, "none")) => (k, Some(None)),
            Some((k, c)) => (k, Some(Some(c.to_string()))),
            None => (text, None),
        };
        Some(DomainSpec { kind: Kind::parse(kind)?, device_class: class })
    }

    /// Whether `entity` is of this kind (and class).
    pub fn admits(&self, entity: &Entity) -> bool {
        entity.kind == self.kind
            && match &self.device_class {
                None => true,
                Some(class) => entity.device_class() == class.as_deref(),
            }
    }
}

/// What a slot matches.
#[derive(Debug, Clone)]
pub enum SlotKind {
    /// An entity name or alias from the registry (`{name}`).
    Name,
    /// An area from the registry or the satellite's (`{area}`).
    Area,
    /// A number in a range.
    Number {
        /// Smallest value.
        min: f64,
        /// Largest value.
        max: f64,
        /// Decimals allowed.
        fractions: bool,
    },
    /// One of a list of phrases (word ids) and the value each stands for.
    Values(Vec<(Vec<u32>, SlotValue)>),
}

/// A slot: where its value comes from and the slot name it is reported under.
#[derive(Debug, Clone)]
pub struct SlotDef {
    /// The slot name (`name`, `area`, `brightness`, ...).
    pub slot: String,
    /// What it matches.
    pub kind: SlotKind,
}

/// What a custom intent publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomMessage {
    /// Topic.
    pub topic: String,
    /// Payload; `{slot}` is replaced by the slot's value.
    pub payload: String,
}

/// Sentences that share an intent, fixed slots and targets.
#[derive(Debug, Clone)]
pub struct Group {
    /// Intent name.
    pub intent: String,
    /// The built-in intent, if it is one.
    pub builtin: Option<Builtin>,
    /// Slots every sentence of the group reports (`domain = "light"`).
    pub fixed: Vec<(String, SlotValue)>,
    /// Kinds targeted by `{name}` or by area.
    pub domains: Vec<DomainSpec>,
    /// Target all matching entities in the home.
    pub everywhere: bool,
    /// A user's own intent: the message it publishes, if any.
    pub message: Option<CustomMessage>,
}

/// One compiled template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Its group.
    pub group: usize,
    /// The compiled program.
    pub program: Program,
}

/// Everything needed to recognise intents in one language.
#[derive(Debug, Clone)]
pub struct Grammar {
    /// Word ids.
    pub words: Words,
    /// Slot table.
    pub slots: Vec<SlotDef>,
    /// Sentence groups.
    pub groups: Vec<Group>,
    /// Templates.
    pub templates: Vec<Template>,
    /// Transcript normalisation.
    pub normalizer: Normalizer,
    /// Folded names too generic to identify one device by a derived short name.
    pub generic_names: HashSet<String>,
}

/// A user's sentences ([`crate::config::RawCustomIntent`], validated).
#[derive(Debug, Clone, Default)]
pub struct CustomIntent {
    /// Intent name (built-in or own).
    pub name: String,
    /// Templates.
    pub sentences: Vec<String>,
    /// Language they are in.
    pub language: Option<Language>,
    /// Fixed slots.
    pub slots: BTreeMap<String, SlotValue>,
    /// Kinds `{name}`/`{area}` may target.
    pub domains: Vec<String>,
    /// Message to publish (own intents).
    pub message: Option<CustomMessage>,
}

fn slot_value(value: &Value) -> SlotValue {
    match value {
        Value::Number(n) => SlotValue::Number(n.as_f64().unwrap_or_default()),
        Value::String(s) => SlotValue::Text(s.clone()),
        other => SlotValue::Text(other.to_string()),
    }
}

fn phrases(list: &[String]) -> Vec<Vec<String>> {
    list.iter().map(|p| fold(p).split_whitespace().map(str::to_string).collect()).collect()
}

impl Grammar {
    /// Compiles the built-in sentences of `language` plus the user's sentences for it.
    pub fn build(language: Language, custom: &[CustomIntent]) -> Result<Grammar, IntentError> {
        let mut rules_text = BTreeMap::new();
        let mut lists = BTreeMap::new();
        let mut groups_data = Vec::new();
        let mut norm = None;
        let mut skip_words = Vec::new();
        for (lang, file, text) in FILES {
            if *lang != language {
                continue;
            }
            let data = |message: String| IntentError::Data { file: (*file).to_string(), message };
            let json = super::ha::data::yaml_to_json(text).map_err(data)?;
            let parsed: SentenceFile = serde_json::from_value(json).map_err(|e| data(e.to_string()))?;
            if parsed.language != language.code() {
                return Err(data(format!("language {:?} in a {language} file", parsed.language)));
            }
            if let Some(n) = parsed.normalize {
                norm = Some(n);
            }
            skip_words.extend(parsed.skip_words);
            rules_text.extend(parsed.expansion_rules);
            lists.extend(parsed.lists);
            for (intent, data) in parsed.intents {
                groups_data.extend(data.data.into_iter().map(|block| (*file, intent.clone(), block)));
            }
        }
        let norm = norm.unwrap_or_default();

        let mut rules = HashMap::new();
        for (name, text) in &rules_text {
            let node = template::parse(text).map_err(|e| IntentError::Template {
                source_name: format!("rule <{name}>"),
                template: text.clone(),
                message: e.to_string(),
            })?;
            rules.insert(name.clone(), node);
        }

        let mut g = Grammar {
            words: Words::default(),
            slots: Vec::new(),
            groups: Vec::new(),
            templates: Vec::new(),
            normalizer: Normalizer {
                language,
                filler_words: skip_words.iter().map(|w| fold(w)).collect(),
                filler_prefixes: phrases(&norm.filler_prefixes),
                filler_suffixes: phrases(&norm.filler_suffixes),
                replacements: norm
                    .replacements
                    .iter()
                    .map(|(k, v)| (fold(k), v.split_whitespace().map(fold).collect()))
                    .collect(),
                percent: fold(&norm.percent),
                degrees: fold(&norm.degrees),
                compound_suffixes: norm.compound_suffixes.iter().map(|w| fold(w)).collect(),
            },
            generic_names: norm.generic_names.iter().map(|w| fold(w)).collect(),
        };
        let mut slot_ids: HashMap<(String, String), u16> = HashMap::new();

        for (file, intent, data) in groups_data {
            let builtin = Builtin::parse(&intent).ok_or_else(|| IntentError::Data {
                file: file.to_string(),
                message: format!("unknown intent {intent}"),
            })?;
            let specs = match (&data.requires_context, data.metadata.targets.is_empty()) {
                (Some(_), false) => {
                    return Err(IntentError::Data {
                        file: file.to_string(),
                        message: format!("a {intent} block has both requires_context and metadata targets"),
                    });
                }
                (Some(context), true) => context.specs(),
                (None, _) => data.metadata.targets.clone(),
            };
            let group = Group {
                intent: intent.clone(),
                builtin: Some(builtin),
                fixed: data.slots.iter().map(|(k, v)| (k.clone(), slot_value(v))).collect(),
                domains: domains(&specs, builtin).map_err(|d| IntentError::Data {
                    file: file.to_string(),
                    message: format!("unknown domain {d:?} in a {intent} block"),
                })?,
                everywhere: data.metadata.everywhere,
                message: None,
            };
            g.add_group(group, &data.sentences, &rules, &lists, &mut slot_ids, file)?;
        }
        for c in custom.iter().filter(|c| c.language.unwrap_or(language) == language) {
            let builtin = Builtin::parse(&c.name);
            if builtin.is_none() && c.name.starts_with("Hass") {
                return Err(IntentError::UnknownIntent(c.name.clone()));
            }
            let domains = match builtin {
                Some(b) => domains(&c.domains, b),
                None => c.domains.iter().map(|d| DomainSpec::parse(d).ok_or_else(|| d.clone())).collect(),
            }
            .map_err(|d| IntentError::Domain { intent: c.name.clone(), domain: d })?;
            let group = Group {
                intent: c.name.clone(),
                builtin,
                fixed: c.slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                domains,
                everywhere: false,
                message: c.message.clone(),
            };
            let source = format!("[[intent.custom]] {}", c.name);
            g.add_group(group, &c.sentences, &rules, &lists, &mut slot_ids, &source)?;
        }
        Ok(g)
    }

    fn add_group(
        &mut self,
        group: Group,
        sentences: &[String],
        rules: &HashMap<String, Node>,
        lists: &BTreeMap<String, ListData>,
        slot_ids: &mut HashMap<(String, String), u16>,
        source: &str,
    ) -> Result<(), IntentError> {
        let index = self.groups.len();
        self.groups.push(group);
        for sentence in sentences.iter().filter(|s| !s.trim().is_empty()) {
            let err = |message: String| IntentError::Template {
                source_name: source.to_string(),
                template: sentence.clone(),
                message,
            };
            let node = template::parse(sentence).map_err(|e| err(e.to_string()))?;
            let mut used = Vec::new();
            collect_slots(&node, rules, &mut used, 0);
            for (list, slot) in used {
                let key = (list.clone(), slot.clone());
                if slot_ids.contains_key(&key) {
                    continue;
                }
                let kind = match list.as_str() {
                    "name" => SlotKind::Name,
                    "area" => SlotKind::Area,
                    _ => match lists.get(&list) {
                        Some(data) => list_kind(data, &mut self.words),
                        None => return Err(err(CompileError::UnknownList(list).to_string())),
                    },
                };
                slot_ids.insert(key, self.slots.len() as u16);
                self.slots.push(SlotDef { slot, kind });
            }
            let mut resolve = |list: &str, slot: &str| slot_ids.get(&(list.to_string(), slot.to_string())).copied();
            let program =
                template::compile(&node, rules, &mut self.words, &mut resolve).map_err(|e| err(e.to_string()))?;
            self.templates.push(Template { group: index, program });
        }
        Ok(())
    }
}

/// Every `{list:slot}` a template uses, through its rules.
fn collect_slots(node: &Node, rules: &HashMap<String, Node>, out: &mut Vec<(String, String)>, depth: usize) {
    match node {
        Node::Word(_) => {}
        Node::Seq(items) | Node::Alt(items) => {
            for item in items {
                collect_slots(item, rules, out, depth);
            }
        }
        Node::Slot { list, slot } => {
            if !out.iter().any(|(l, s)| l == list && s == slot) {
                out.push((list.clone(), slot.clone()));
            }
        }
        Node::Rule(name) => {
            if let Some(body) = rules.get(name).filter(|_| depth < 32) {
                collect_slots(body, rules, out, depth + 1);
            }
        }
    }
}

fn list_kind(data: &ListData, words: &mut Words) -> SlotKind {
    match &data.range {
        Some(range) => SlotKind::Number { min: range.from, max: range.to, fractions: range.fractions.is_some() },
        None => SlotKind::Values(
            data.values
                .iter()
                .map(|value| {
                    let (phrase, out) = match value {
                        ValueData::Plain(text) => (text, SlotValue::Text(text.clone())),
                        ValueData::Mapped { text, out } => (text, slot_value(out)),
                    };
                    (fold(phrase).split_whitespace().map(|w| words.intern(w)).collect(), out)
                })
                .collect(),
        ),
    }
}

fn domains(given: &[String], builtin: Builtin) -> Result<Vec<DomainSpec>, String> {
    let list: Vec<&str> =
        if given.is_empty() { builtin.default_domains().to_vec() } else { given.iter().map(String::as_str).collect() };
    list.iter().map(|d| DomainSpec::parse(d).ok_or_else(|| d.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sentences_compile() {
        for language in [Language::En, Language::De] {
            let g = Grammar::build(language, &[]).unwrap_or_else(|e| panic!("{language:?}: {e}"));
            assert!(g.templates.len() > 50, "{language:?}: {} templates", g.templates.len());
            for b in Builtin::ALL {
                assert!(
                    g.groups.iter().any(|grp| grp.builtin == Some(b)),
                    "{language:?} has no sentences for {}",
                    b.name()
                );
            }
            assert!(!g.normalizer.percent.is_empty() && !g.normalizer.degrees.is_empty());
        }
    }

    #[test]
    fn domain_specs() {
        let garage = DomainSpec::parse("cover.garage").unwrap();
        let plain = DomainSpec::parse("cover.none").unwrap();
        let any = DomainSpec::parse("cover").unwrap();
        let mut e = Entity::new("c", "Garage Door", Kind::Cover);
        e.config.insert("device_class".into(), "garage".into());
        assert!(garage.admits(&e) && !plain.admits(&e) && any.admits(&e));
        e.config.clear();
        assert!(!garage.admits(&e) && plain.admits(&e) && any.admits(&e));
        assert_eq!(DomainSpec::parse("vacuum"), None);
    }

    #[test]
    fn custom_sentences_join_or_add_intents() {
        let custom = [
            CustomIntent {
                name: "HassTurnOn".into(),
                sentences: vec!["light up [the] {name}".into()],
                ..Default::default()
            },
            CustomIntent {
                name: "GoodNight".into(),
                sentences: vec!["good night".into()],
                message: Some(CustomMessage { topic: "home/night".into(), payload: "ON".into() }),
                ..Default::default()
            },
        ];
        let builtin_groups = Grammar::build(Language::En, &[]).unwrap().groups.len();
        let g = Grammar::build(Language::En, &custom).unwrap();
        let mine = &g.groups[builtin_groups..];
        assert_eq!(mine.len(), 2);
        assert_eq!(mine[0].builtin, Some(Builtin::TurnOn));
        assert!(mine[0].domains.iter().any(|d| d.kind == Kind::Light));
        assert_eq!(mine[1].builtin, None);
        let bad = [CustomIntent { name: "X".into(), sentences: vec!["(oops".into()], ..Default::default() }];
        let err = Grammar::build(Language::En, &bad).unwrap_err().to_string();
        assert!(err.contains("(oops") && err.contains("missing ')'"), "{err}");
        let bad = [CustomIntent { name: "X".into(), sentences: vec!["<nope> it".into()], ..Default::default() }];
        assert!(Grammar::build(Language::En, &bad).unwrap_err().to_string().contains("<nope>"));
        let bad = [CustomIntent { name: "HassTurnOnn".into(), sentences: vec!["x".into()], ..Default::default() }];
        assert!(matches!(Grammar::build(Language::En, &bad), Err(IntentError::UnknownIntent(_))));
        let german = [CustomIntent {
            name: "X".into(),
            sentences: vec!["gute nacht".into()],
            language: Some(Language::De),
            ..Default::default()
        }];
        assert_eq!(Grammar::build(Language::En, &german).unwrap().groups.len(), builtin_groups);
    }
}
