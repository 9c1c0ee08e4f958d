//! Home Assistant's sentences over this home: the registry's names and areas as the `name`
//! and `area` lists, the satellite's area as the intent context, and a match turned into the
//! entities it means and their commands, as Assist's intent handlers would pick them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Map, Value, json};

use super::data::{CustomError, DataSource, LoadError};
use super::{DataError, LanguageGrammar, Recognition, SlotList, TextValue};
use crate::home::{EntityRegistry, fold};
use crate::intent::{Builtin, Context, IntentMatch, Language, SlotValue};

/// Why the sentence data cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AssistError {
    /// The data cannot be read.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The custom sentences cannot be read.
    #[error(transparent)]
    Custom(#[from] CustomError),
    /// A language file, with the custom sentences on top, does not compile.
    #[error("{language} sentences of {}{}: {source}", path.display(), custom_note(custom.as_deref()))]
    Data {
        /// The data.
        path: std::path::PathBuf,
        /// The custom sentences folder, if any.
        custom: Option<std::path::PathBuf>,
        /// The language.
        language: String,
        /// What is wrong.
        #[source]
        source: Box<DataError>,
    },
}

/// Compiled sentence data for the languages Hearth speaks.
#[derive(Debug)]
pub struct Assist {
    grammars: HashMap<Language, LanguageGrammar>,
    /// The home's lists, built once per state of the registry
    /// ([`EntityRegistry::generation`]).
    lists: std::sync::Mutex<Option<(u64, HomeLists)>>,
}

/// The home's slot lists, shared.
type HomeLists = std::sync::Arc<HashMap<String, SlotList>>;

fn custom_note(custom: Option<&Path>) -> String {
    custom.map(|c| format!(" with the custom sentences in {}", c.display())).unwrap_or_default()
}

impl Assist {
    /// Reads and compiles `languages` from the wheel or folder at `path`, with Home
    /// Assistant custom sentence files from `custom` (`<custom>/<language>/*.yaml`) on top.
    pub fn load(path: &Path, languages: &[Language], custom: Option<&Path>) -> Result<Assist, AssistError> {
        let source = DataSource::new(path);
        let mut grammars = HashMap::new();
        for &language in languages {
            let file = source.load(language.code())?;
            let extra = match custom {
                Some(dir) => super::data::custom_sentences(dir, language.code())?,
                None => Vec::new(),
            };
            let grammar = LanguageGrammar::from_json(&file, &extra).map_err(|source| AssistError::Data {
                path: path.to_owned(),
                custom: custom.map(Path::to_owned),
                language: language.code().to_string(),
                source: Box::new(source),
            })?;
            grammars.insert(language, grammar);
        }
        Ok(Assist { grammars, lists: std::sync::Mutex::new(None) })
    }

    /// The grammar of every language loaded.
    pub fn grammars(&self) -> impl Iterator<Item = &LanguageGrammar> {
        self.grammars.values()
    }

    /// The compiled data of `language`, if loaded.
    pub fn grammar(&self, language: Language) -> Option<&LanguageGrammar> {
        self.grammars.get(&language)
    }

    /// Recognises `text` with Home Assistant's sentences. `None`: no sentence matches (the
    /// caller may try its own); a match Hearth cannot carry out comes back without actions.
    pub fn recognize(&self, text: &str, registry: &EntityRegistry, context: &Context) -> Option<IntentMatch> {
        let grammar = self.grammars.get(&context.language)?;
        let key = registry.generation();
        let lists = {
            let mut cached = self.lists.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match cached.as_ref() {
                Some((k, lists)) if *k == key => lists.clone(),
                _ => {
                    let lists = std::sync::Arc::new(home_lists(registry));
                    *cached = Some((key, lists.clone()));
                    lists
                }
            }
        };
        let mut intent_context = Map::new();
        if let Some(area) = context.area.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            let name = registry.areas().iter().find(|a| a.key == fold(area)).map_or(area, |a| a.name.as_str());
            intent_context.insert("area".into(), json!({"value": name, "text": name}));
        }
        let (found, score) = understand(grammar, text, &lists, &intent_context, Some(context.language))?;
        let mut m = resolve(registry, context, found);
        m.score = score;
        Some(m)
    }
}

/// Recognises what was heard: as said (exactly as Assist would); then, for a language with
/// number words, with those written as digits ("fifty percent"); then with names of the home
/// heard slightly wrong. The first that matches decides; the score is 1 for an exact match and
/// falls with the letters changed.
pub fn understand(
    grammar: &LanguageGrammar,
    text: &str,
    lists: &HashMap<String, SlotList>,
    context: &Map<String, Value>,
    numbers: Option<Language>,
) -> Option<(Recognition, f32)> {
    let wildcards =
        |r: &Recognition| r.entities.iter().filter(|e| e.wildcard).map(|e| e.text.chars().count()).sum::<usize>();
    let digits = numbers.and_then(|l| numbers_as_digits(text, l));
    let exact = grammar
        .recognize_best(text, lists, context)
        .or_else(|| digits.as_deref().and_then(|t| grammar.recognize_best(t, lists, context)));
    // A wildcard takes any words, also a misheard name ("the gardan timer" as a timer called
    // "gardan", "play jazz on offica radio" as a search for all of it): a reading with a name
    // heard slightly wrong and less wildcard text is better.
    if let Some(found) = &exact
        && wildcards(found) == 0
    {
        return exact.map(|f| (f, 1.0));
    }
    let lenient = grammar
        .recognize_lenient(digits.as_deref().unwrap_or(text), lists, context)
        .filter(|l| exact.as_ref().is_none_or(|e| wildcards(l) < wildcards(e)));
    match (exact, lenient) {
        (_, Some(found)) => {
            let said: usize = found.entities.iter().map(|e| e.text.chars().count()).sum();
            let score = 1.0 - found.edits as f32 / said.max(1) as f32;
            Some((found, score))
        }
        (exact, None) => exact.map(|f| (f, 1.0)),
    }
}

/// `text` with numbers in words written as digits ("set it to fifty percent" → "set it to 50
/// percent", "einundzwanzig Komma fünf" → "21.5"); `None` when it has none.
fn numbers_as_digits(text: &str, language: Language) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    // Compared folded and without the punctuation around words ("fifty," is a number too).
    let folded: Vec<String> = words.iter().map(|w| fold(w)).collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut changed = false;
    let mut i = 0;
    while i < words.len() {
        let is_word = !folded[i].is_empty() && !folded[i].chars().next().is_some_and(|c| c.is_ascii_digit());
        match is_word.then(|| crate::intent::numbers::number_at(&folded, i, language)).flatten() {
            Some((value, used)) if used > 0 => {
                let last = words[i + used - 1];
                let trailing: String = last.chars().rev().take_while(|c| !c.is_alphanumeric()).collect();
                out.push(format!(
                    "{}{}",
                    crate::intent::numbers::format(value),
                    trailing.chars().rev().collect::<String>()
                ));
                changed = true;
                i += used;
            }
            _ => {
                out.push(words[i].to_string());
                i += 1;
            }
        }
    }
    changed.then(|| out.join(" "))
}

/// The home's lists: `name` (names and aliases, with domain, device class and area as
/// context; reported as the entity's name) and `area`. Disguised names are left out.
pub fn home_lists(registry: &EntityRegistry) -> HashMap<String, SlotList> {
    let mut names = Vec::new();
    for entry in registry.entries() {
        let e = &entry.entity;
        let mut context = Map::new();
        context.insert("domain".into(), json!(e.kind.domain()));
        if let Some(class) = e.device_class() {
            context.insert("device_class".into(), json!(class));
        }
        if let Some(area) = &e.area {
            context.insert("area".into(), json!(area));
        }
        for said in e.aliases.iter().chain(std::iter::once(&e.name)) {
            if said.trim().is_empty() || crate::home::is_disguised(said) {
                continue;
            }
            names.push(TextValue::name(said, json!(e.name), context.clone()));
        }
    }
    // Areas: those the entities name, then those only `[[area]]` describes; each with its aliases.
    let mut area_names: Vec<String> = registry.areas().iter().map(|a| a.name.clone()).collect();
    for d in registry.described_areas() {
        if !area_names.iter().any(|n| fold(n) == fold(&d.name)) {
            area_names.push(d.name.clone());
        }
    }
    let mut areas = Vec::new();
    for name in &area_names {
        areas.push(TextValue::name(name, json!(name), Map::new()));
        let described = registry.described_areas().iter().find(|d| fold(&d.name) == fold(name));
        for alias in described.into_iter().flat_map(|d| &d.aliases).filter(|a| !a.trim().is_empty()) {
            areas.push(TextValue::name(alias, json!(name), Map::new()));
        }
    }
    let mut floors: Vec<TextValue> = Vec::new();
    let mut floor_names: Vec<String> = Vec::new();
    for d in registry.described_areas() {
        let Some(floor) = &d.floor else { continue };
        if !floor_names.iter().any(|f| fold(f) == fold(floor)) {
            floor_names.push(floor.clone());
            floors.push(TextValue::name(floor, json!(floor), Map::new()));
        }
        for alias in d.floor_aliases.iter().filter(|a| !a.trim().is_empty()) {
            floors.push(TextValue::name(alias, json!(floor), Map::new()));
        }
    }
    HashMap::from([
        ("name".to_string(), SlotList::text(names)),
        ("area".to_string(), SlotList::text(areas)),
        ("floor".to_string(), SlotList::text(floors)),
    ])
}

fn slot_value(v: &Value) -> SlotValue {
    match v {
        Value::Number(n) => SlotValue::Number(n.as_f64().unwrap_or_default()),
        Value::String(s) => SlotValue::Text(s.clone()),
        other => SlotValue::Text(other.to_string()),
    }
}

/// The values of a slot that may be one value or a list (`domain: ["cover", "valve"]`).
fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The entities a match means, as Assist's target matching picks them: by name (narrowed by
/// domain, device class and area; in the satellite's area first), else every entity of the
/// domain and device class in the area said or meant, or in the whole home when none is.
/// `None` when a name is said but matches entities in several areas: which one is meant is
/// unknown, and a wrong action is worse than none.
fn targets(registry: &EntityRegistry, context: &Context, slots: &Map<String, Value>) -> Option<Vec<usize>> {
    let domains = texts(slots.get("domain"));
    let classes = texts(slots.get("device_class"));
    let area = slots.get("area").and_then(Value::as_str).map(fold);
    let floor = slots.get("floor").and_then(Value::as_str).map(fold);
    // "Close the blinds" says device_class blind; many covers announce no device class at all.
    // Such a cover counts as a window covering (blind, shade, shutter, curtain, awning) when no
    // device there has the class said; never as a door, gate, garage door or window.
    let covering = |c: &String| matches!(c.as_str(), "blind" | "shade" | "shutter" | "curtain" | "awning");
    let may_be_classless = !classes.is_empty() && classes.iter().all(covering);
    let fits = |i: usize, classless: bool| {
        let entry = &registry.entries()[i];
        let e = &entry.entity;
        let class_fits = match e.device_class() {
            Some(c) => classes.is_empty() || classes.iter().any(|k| k == c),
            None => classes.is_empty() || classless,
        };
        (domains.is_empty() || domains.iter().any(|d| d == e.kind.domain()))
            && class_fits
            && area.as_ref().is_none_or(|a| entry.area_key.as_ref() == Some(a))
            && floor
                .as_ref()
                .is_none_or(|f| e.area.as_deref().and_then(|a| registry.floor_of(a)).is_some_and(|on| fold(on) == *f))
    };
    let classless = may_be_classless && !(0..registry.len()).any(|i| fits(i, false));
    let all = (0..registry.len()).filter(|&i| fits(i, classless));
    match slots.get("name").and_then(Value::as_str) {
        Some(name) => {
            let key = fold(name);
            let mut found: Vec<usize> = all.filter(|&i| fold(&registry.at(i).name) == key).collect();
            let here = context.area.as_deref().map(fold);
            if found.len() > 1
                && let Some(here) = &here
            {
                let local: Vec<usize> =
                    found.iter().copied().filter(|&i| registry.entries()[i].area_key.as_ref() == Some(here)).collect();
                if !local.is_empty() {
                    found = local;
                }
            }
            let first = found.first().map(|&i| &registry.entries()[i].area_key);
            if found.iter().any(|&i| Some(&registry.entries()[i].area_key) != first) {
                return None;
            }
            Some(found)
        }
        None => Some(all.collect()),
    }
}

/// Turns a recognition into an intent with targets and commands.
fn resolve(registry: &EntityRegistry, context: &Context, found: Recognition) -> IntentMatch {
    let slots: BTreeMap<String, SlotValue> = found.slots.iter().map(|(k, v)| (k.clone(), slot_value(v))).collect();
    let raw: Map<String, Value> = found.slots.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let builtin = Builtin::ALL.into_iter().find(|b| b.name() == found.intent);
    let mut result = IntentMatch {
        name: found.intent.clone(),
        slots,
        targets: Vec::new(),
        actions: Vec::new(),
        refused: None,
        score: 1.0,
        // A sentence block without a `response` answers with the intent's "default" one,
        // as Assist does.
        response: Some(found.response.clone().unwrap_or_else(|| "default".into())),
    };
    let Some(builtin) = builtin.filter(|b| b.needs_targets()) else { return result };
    let Some(targets) = targets(registry, context, &raw) else {
        result.refused = Some("that name is in more than one area; say which".into());
        return result;
    };
    let crate::intent::Commands { actions, mut refused, unsupported } =
        crate::intent::builtin_commands(builtin, registry, &targets, &result.slots);
    result.actions = actions;
    if result.actions.is_empty() {
        refused.extend(unsupported);
        if targets.is_empty() && builtin.acts() {
            refused.push("no such device here".into());
        }
    }
    result.targets = targets.iter().map(|&i| registry.at(i).id.clone()).collect();
    result.refused = (!refused.is_empty()).then(|| refused.join("; "));
    result
}
