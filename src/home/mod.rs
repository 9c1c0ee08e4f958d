//! The home as the assistant sees it: the [`EntityRegistry`] of devices people can name
//! (name, aliases, area, kind, and the Home Assistant MQTT discovery keys that say how to
//! command them), and [`EntityRegistry::commands`], which turns an [`Action`] on one
//! [`Entity`] into the MQTT messages Home Assistant itself would publish.
//!
//! Entities come from `[[entity]]` in `config.toml` ([`EntityRegistry::from_settings`]) and
//! from MQTT discovery ([`Entity::from_discovery`], fed by the MQTT bridge). Both end up as the
//! same [`Entity`]: its `config` holds the discovery keys spelled out in full.
//!
//! **Invariant:** nothing here does I/O. Commands are built only by
//! [`EntityRegistry::commands`], which refuses unlocking a lock and opening a garage door or
//! gate unless that one entity is allowed (`guard.rs`), and refuses any other command that
//! would have the same effect (a "lock" that publishes the unlock payload, a switch that
//! publishes a lock's unlock message), so no caller can forget or bypass the check.

mod command;
mod discovery;
mod guard;
mod limits;
mod names;

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::config::{RawEntity, Settings};

pub use command::{Action, CommandError, MqttCommand};
pub use discovery::{
    DiscoveryError, DiscoveryProblem, DiscoveryUpdate, normalize as normalize_discovery, parse_discovery,
};
pub use guard::SafetyPolicy;
pub use limits::OutOfRange;
pub use names::{Escaped, Spelled, fold, fold_char, is_apostrophe, is_disguised, is_invisible, sound_key};

/// What kind of device an entity is: Home Assistant's MQTT component (entity domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `light`: on/off, brightness.
    Light,
    /// `switch`: on/off.
    Switch,
    /// `fan`: on/off, speed percentage.
    Fan,
    /// `cover`: open/close/stop, position (blinds, shutters, garage doors).
    Cover,
    /// `climate`: target temperature, mode.
    Climate,
    /// `lock`: lock/unlock.
    Lock,
    /// `scene`: activate.
    Scene,
    /// `button`: press.
    Button,
    /// `valve`: open/close/stop, position.
    Valve,
    /// `media_player`: on/off (not an MQTT platform in Home Assistant; declared by hand).
    MediaPlayer,
    /// `sensor`: state only.
    Sensor,
    /// `binary_sensor`: state only.
    BinarySensor,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 12] = [
        Kind::Light,
        Kind::Switch,
        Kind::Fan,
        Kind::Cover,
        Kind::Climate,
        Kind::Lock,
        Kind::Scene,
        Kind::Button,
        Kind::Valve,
        Kind::MediaPlayer,
        Kind::Sensor,
        Kind::BinarySensor,
    ];

    /// Parses a Home Assistant domain name (`light`, `binary_sensor`, ...).
    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.domain() == text.trim())
    }

    /// The Home Assistant domain name, as used in the `domain` slot.
    pub fn domain(self) -> &'static str {
        match self {
            Kind::Light => "light",
            Kind::Switch => "switch",
            Kind::Fan => "fan",
            Kind::Cover => "cover",
            Kind::Climate => "climate",
            Kind::Lock => "lock",
            Kind::Scene => "scene",
            Kind::Button => "button",
            Kind::Valve => "valve",
            Kind::MediaPlayer => "media_player",
            Kind::Sensor => "sensor",
            Kind::BinarySensor => "binary_sensor",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.domain())
    }
}

/// A device people can name.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// Stable id: the discovery `unique_id`, else `<kind>.<object id or folded name>`.
    pub id: String,
    /// The name people say ("Kitchen Light").
    pub name: String,
    /// Other names for it.
    pub aliases: Vec<String>,
    /// The area it is in ("Kitchen"), if known.
    pub area: Option<String>,
    /// Its kind (Home Assistant domain).
    pub kind: Kind,
    /// Discovery keys, spelled out in full with `~` expanded: how to command it.
    pub config: Map<String, Value>,
    /// Its own `[[entity]]` entry allows unlocking it by voice (locks only). The registry
    /// decides, from this and `[intent] allow_unlock` ([`SafetyPolicy`]).
    pub allow_unlock: bool,
    /// Its own `[[entity]]` entry allows opening it by voice (garage doors and gates only).
    pub allow_open: bool,
}

/// Why an entity could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntityError {
    /// `kind` / the discovery component is not one Hearth handles.
    #[error("entity {name:?}: kind {kind:?} is not supported; use one of {}", kind_list())]
    UnknownKind {
        /// The entity's name or discovery id.
        name: String,
        /// The kind as given.
        kind: String,
    },
    /// A discovery payload that is not a JSON object.
    #[error("discovery payload for {} is not a JSON object", Escaped(.id))]
    NotAnObject {
        /// `<component>.<object id>`.
        id: String,
    },
    /// A discovery key the command builder computes with is out of its range
    /// (`limits::check`); the entity is skipped rather than sent nonsense.
    #[error("entity {}: `{}` = {} is not allowed: use {}", Escaped(.entity), .range.key, Escaped(&.range.value), .range.allowed)]
    OutOfRange {
        /// The entity's name or id.
        entity: String,
        /// Which key, its value and its range.
        range: OutOfRange,
    },
    /// Neither the entity nor its device has a name.
    #[error("entity {} has no name: give it a `name` (or its device one)", Escaped(.id))]
    NoName {
        /// The entity id.
        id: String,
    },
}

fn kind_list() -> String {
    Kind::ALL.iter().map(|k| k.domain()).collect::<Vec<_>>().join(", ")
}

impl Entity {
    /// An entity with no discovery keys (tests, and callers that fill `config` themselves).
    pub fn new(id: impl Into<String>, name: impl Into<String>, kind: Kind) -> Entity {
        Entity {
            id: id.into(),
            name: name.into(),
            aliases: Vec::new(),
            area: None,
            kind,
            config: Map::new(),
            allow_unlock: false,
            allow_open: false,
        }
    }

    /// Builds an entity from a Home Assistant MQTT discovery payload published on
    /// `<prefix>/<component>/[<node_id>/]<object_id>/config`. Abbreviations and `~` are expanded;
    /// `name: null` takes the device name, a name next to a device name is prefixed with it (as
    /// Home Assistant names such entities), and `device.suggested_area` becomes the area.
    pub fn from_discovery(component: &str, object_id: &str, payload: &Value) -> Result<Entity, EntityError> {
        let fallback_id = format!("{component}.{object_id}");
        let kind = Kind::parse(component)
            .ok_or_else(|| EntityError::UnknownKind { name: fallback_id.clone(), kind: component.to_string() })?;
        let object = payload.as_object().ok_or_else(|| EntityError::NotAnObject { id: fallback_id.clone() })?;
        let config = discovery::normalize(object);
        limits::check(kind, &config).map_err(|range| EntityError::OutOfRange { entity: fallback_id.clone(), range })?;
        let id = match config.get("unique_id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => fallback_id,
        };
        let device = config.get("device").and_then(Value::as_object);
        let device_name = device.and_then(|d| d.get("name")).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let name = match config.get("name") {
            Some(Value::Null) => device_name.map(str::to_string),
            Some(Value::String(own)) if !own.trim().is_empty() => Some(match device_name {
                Some(dev) if !fold(own).starts_with(&fold(dev)) => format!("{dev} {own}"),
                _ => own.clone(),
            }),
            _ => device_name.map(str::to_string),
        }
        .ok_or_else(|| EntityError::NoName { id: id.clone() })?;
        let area = device
            .and_then(|d| d.get("suggested_area"))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string);
        Ok(Entity { id, name, aliases: Vec::new(), area, kind, config, allow_unlock: false, allow_open: false })
    }

    /// Builds an entity from an `[[entity]]` entry of `config.toml`. Its discovery keys may be
    /// written in full or abbreviated, as in a discovery payload.
    pub fn from_config(raw: &RawEntity) -> Result<Entity, EntityError> {
        let kind = Kind::parse(&raw.kind)
            .ok_or_else(|| EntityError::UnknownKind { name: raw.name.clone(), kind: raw.kind.clone() })?;
        let mut object = Map::new();
        for (key, value) in &raw.discovery {
            object.insert(key.clone(), toml_to_json(value));
        }
        if let Some(topic) = &raw.command_topic {
            object.insert("command_topic".into(), Value::String(topic.clone()));
        }
        if let Some(schema) = &raw.schema {
            object.insert("schema".into(), Value::String(schema.clone()));
        }
        let config = discovery::normalize(&object);
        limits::check(kind, &config).map_err(|range| EntityError::OutOfRange { entity: raw.name.clone(), range })?;
        let id = match config.get("unique_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => format!("{}.{}", kind.domain(), fold(&raw.name).replace(' ', "_")),
        };
        Ok(Entity {
            id,
            name: raw.name.trim().to_string(),
            aliases: raw.aliases.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect(),
            area: raw.area.as_ref().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
            kind,
            config,
            allow_unlock: raw.allow_unlock,
            allow_open: raw.allow_open,
        })
    }

    /// The discovery `device_class`, if any ("garage", "blind", "temperature", ...).
    pub fn device_class(&self) -> Option<&str> {
        self.config.get("device_class").and_then(Value::as_str)
    }

    /// A discovery key's value as text, if it is a string or a number.
    pub fn key(&self, key: &str) -> Option<String> {
        match self.config.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            _ => None,
        }
    }

    /// Whether opening this cover is guarded (a garage door or gate; the device class in any
    /// case or padding, as a look-alike "Garage " must not escape the guard).
    pub fn is_guarded_opening(&self) -> bool {
        self.kind == Kind::Cover
            && self.device_class().is_some_and(|c| matches!(c.trim().to_ascii_lowercase().as_str(), "garage" | "gate"))
    }
}

/// Converts a TOML value from `config.toml` into the JSON a discovery payload would carry.
fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

/// One name an entity answers to, folded for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKey {
    /// The folded name ([`fold`]).
    pub text: String,
    /// Its comparison forms.
    pub spelled: Spelled,
    /// Derived from the name by leaving out the entity's area ("Kitchen Ceiling Light" in area
    /// "Kitchen" → "ceiling light"): only valid when that area is meant.
    pub derived: bool,
    /// Written with invisible or look-alike characters ([`is_disguised`]): answers to speech
    /// only when no plainly written name does, and is allowed by id only.
    pub disguised: bool,
}

/// An entity with its folded names, as the registry keeps it.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The entity.
    pub entity: Entity,
    /// Its name, aliases and derived short name, folded.
    pub keys: Vec<NameKey>,
    /// Its area, folded.
    pub area_key: Option<String>,
}

/// An area, as named by the entities in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Area {
    /// The area's name as first written ("Living Room").
    pub name: String,
    /// Folded ([`fold`]).
    pub key: String,
    /// Its comparison forms.
    pub spelled: Spelled,
}

/// Every entity the assistant can control or ask about, with indexes for lookup by id, name,
/// alias and area. Insertion order is kept (it decides nothing, but makes output stable).
#[derive(Debug, Clone, Default)]
pub struct EntityRegistry {
    /// Entities with their folded names.
    entries: Vec<Registered>,
    /// Position in `entries` by id.
    by_id: HashMap<String, usize>,
    /// Distinct areas, in order of first appearance.
    areas: Vec<Area>,
    /// The keys of `areas`, to keep them distinct without a search.
    area_keys: HashSet<String>,
    /// Every word of every folded name and area: words a transcript may contain on purpose.
    vocabulary: HashSet<String>,
    /// Who may be unlocked/opened besides entities that say so themselves.
    policy: SafetyPolicy,
    /// Ids of `[[entity]]` entries (their own `allow_unlock`/`allow_open` apply).
    configured: HashSet<String>,
    /// `[[area]]` tables: floors and other names of areas.
    described: Vec<crate::config::RawArea>,
    /// Ids claimed by more than one config (two discovery topics, or one and an `[[entity]]`):
    /// which device such an id means is unknown, so its guarded action is refused.
    contested: HashSet<String>,
    /// Changes with every insert and removal, unique across all registries of the process
    /// (0: never changed), so what is built from the entities can be cached by it.
    generation: u64,
}

/// The source of [`EntityRegistry::generation`] values.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl EntityRegistry {
    /// An empty registry.
    pub fn new() -> EntityRegistry {
        EntityRegistry::default()
    }

    /// An empty registry whose entities get their guarded permissions from `policy`.
    pub fn with_policy(policy: SafetyPolicy) -> EntityRegistry {
        EntityRegistry { policy, ..EntityRegistry::default() }
    }

    /// The registry for a config file: its `[[entity]]` entries and `[intent]` permissions.
    pub fn from_settings(settings: &Settings) -> Result<EntityRegistry, EntityError> {
        let mut registry =
            EntityRegistry::with_policy(SafetyPolicy::new(&settings.intent_allow_unlock, &settings.intent_allow_open));
        for raw in &settings.entities {
            let mut entity = Entity::from_config(raw)?;
            let base = entity.id.clone();
            let mut n = 2;
            while registry.get(&entity.id).is_some() {
                entity.id = format!("{base}_{n}");
                n += 1;
            }
            registry.configured.insert(entity.id.clone());
            registry.insert(entity);
        }
        registry.described = settings.areas.clone();
        registry.changed();
        Ok(registry)
    }

    /// Adds an entity, or replaces the one with the same id (returned).
    pub fn insert(&mut self, entity: Entity) -> Option<Entity> {
        self.changed();
        let registered = register(entity);
        match self.by_id.get(&registered.entity.id) {
            Some(&i) => {
                let old = std::mem::replace(&mut self.entries[i], registered).entity;
                // Its old name or area may have been the only one with a word: start over.
                self.reindex();
                Some(old)
            }
            None => {
                // A new entity only adds to areas and vocabulary, so a home of thousands of
                // discovery configs is read in linear time.
                self.by_id.insert(registered.entity.id.clone(), self.entries.len());
                self.entries.push(registered);
                self.index(self.entries.len() - 1);
                None
            }
        }
    }

    /// Removes an entity by id (discovery: empty config payload).
    pub fn remove(&mut self, id: &str) -> Option<Entity> {
        let i = self.by_id.remove(id)?;
        self.changed();
        let removed = self.entries.remove(i).entity;
        for (j, e) in self.entries.iter().enumerate().skip(i) {
            self.by_id.insert(e.entity.id.clone(), j);
        }
        self.reindex();
        Some(removed)
    }

    /// Which state of which registry this is: equal generations mean equal entities and
    /// areas (a clone keeps its original's until either changes).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn changed(&mut self) {
        self.generation = GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Recomputes areas and vocabulary.
    fn reindex(&mut self) {
        self.areas.clear();
        self.area_keys.clear();
        self.vocabulary.clear();
        for i in 0..self.entries.len() {
            self.index(i);
        }
    }

    /// Adds entry `i`'s area (if new) and words to the indexes.
    fn index(&mut self, i: usize) {
        let e = &self.entries[i];
        if let (Some(name), Some(key)) = (&e.entity.area, &e.area_key)
            && self.area_keys.insert(key.clone())
        {
            self.areas.push(Area { name: name.clone(), key: key.clone(), spelled: Spelled::new(key) });
        }
        for key in e.keys.iter().map(|k| &k.text).chain(e.area_key.as_ref()) {
            self.vocabulary.extend(key.split(' ').map(str::to_string));
        }
    }

    /// The entity with this id.
    pub fn get(&self, id: &str) -> Option<&Entity> {
        self.by_id.get(id).map(|&i| &self.entries[i].entity)
    }

    /// The entity at a position of [`EntityRegistry::entries`].
    pub fn at(&self, index: usize) -> &Entity {
        &self.entries[index].entity
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entities.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entities.
    pub fn iter(&self) -> impl Iterator<Item = &Entity> {
        self.entries.iter().map(|e| &e.entity)
    }

    /// All entities with their folded names, for matching.
    pub fn entries(&self) -> &[Registered] {
        &self.entries
    }

    /// Distinct areas of all entities.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }

    /// Areas as `[[area]]` describes them: floor and other names.
    pub fn described_areas(&self) -> &[crate::config::RawArea] {
        &self.described
    }

    /// The floor of an area (compared after [`fold`]), from `[[area]]`.
    pub fn floor_of(&self, area: &str) -> Option<&str> {
        let key = fold(area);
        self.described.iter().find(|a| fold(&a.name) == key)?.floor.as_deref()
    }

    /// Whether `word` (folded) occurs in some entity name, alias or area.
    pub fn knows_word(&self, word: &str) -> bool {
        self.vocabulary.contains(word)
    }

    /// Entities whose name or alias is exactly `name` (after [`fold`]).
    pub fn by_name(&self, name: &str) -> Vec<&Entity> {
        let key = fold(name);
        self.entries.iter().filter(|e| e.keys.iter().any(|k| !k.derived && k.text == key)).map(|e| &e.entity).collect()
    }

    /// The MQTT messages Home Assistant would publish for `action` on the entity at `index`
    /// (a position of [`EntityRegistry::entries`]), in order — the only way to build commands.
    /// Unlocking a lock and opening a garage door or gate are refused unless that entity is
    /// allowed (its own `[[entity]]`, its id in `[intent] allow_unlock`/`allow_open`, or a name
    /// there that only it has), and so is any command that would do the same to it or to
    /// another such entity, whatever its payloads say.
    pub fn commands(&self, index: usize, action: Action) -> Result<Vec<MqttCommand>, CommandError> {
        let permit = guard::permit(self, index);
        let messages = command::commands(self.at(index), action, &permit)?;
        guard::check_others(self, index, action, &messages)?;
        Ok(messages)
    }

    /// The entity with this id's commands ([`EntityRegistry::commands`]); `None` if unknown.
    pub fn commands_for(&self, id: &str, action: Action) -> Option<Result<Vec<MqttCommand>, CommandError>> {
        self.by_id.get(id).map(|&i| self.commands(i, action))
    }

    /// Entities in `area` (compared after [`fold`]), optionally of one kind.
    pub fn in_area(&self, area: &str, kind: Option<Kind>) -> Vec<&Entity> {
        let key = fold(area);
        self.entries
            .iter()
            .filter(|e| e.area_key.as_deref() == Some(key.as_str()) && kind.is_none_or(|k| e.entity.kind == k))
            .map(|e| &e.entity)
            .collect()
    }
}

/// Folds an entity's names: name, aliases, and the name without its area.
fn register(entity: Entity) -> Registered {
    let area_key = entity.area.as_deref().map(fold).filter(|k| !k.is_empty());
    let mut keys: Vec<NameKey> = Vec::new();
    for name in std::iter::once(&entity.name).chain(&entity.aliases) {
        let text = fold(name);
        let disguised = is_disguised(name);
        match keys.iter_mut().find(|k| k.text == text) {
            Some(key) => key.disguised &= disguised,
            None if !text.is_empty() => {
                keys.push(NameKey { spelled: Spelled::new(&text), text, derived: false, disguised })
            }
            None => {}
        }
    }
    if let (Some(area), Some(name)) = (&area_key, keys.first().map(|k| k.text.clone())) {
        let short = name
            .strip_prefix(area.as_str())
            .and_then(|r| r.strip_prefix(' '))
            .or_else(|| name.strip_suffix(area.as_str()).and_then(|r| r.strip_suffix(' ')));
        if let Some(short) = short
            && !keys.iter().any(|k| k.text == short)
        {
            let disguised = keys[0].disguised;
            keys.push(NameKey { text: short.to_string(), spelled: Spelled::new(short), derived: true, disguised });
        }
    }
    Registered { entity, keys, area_key }
}

/// Which entities each discovery topic configured, so a cleared or changed topic removes exactly
/// its own entities from the registry; and which topics claim each id, so an id two devices
/// claim is known as contested (its lock is not unlocked, its garage door not opened).
#[derive(Debug, Default)]
pub struct DiscoveredTopics {
    /// Entity ids per topic.
    by_topic: HashMap<String, Vec<String>>,
    /// Topics per entity id, in the order they claimed it: the last one's entity is the one in
    /// the registry.
    claims: HashMap<String, Vec<String>>,
}

impl DiscoveredTopics {
    /// Applies one discovery message's meaning to `registry`; returns how many entities the topic
    /// now holds.
    pub fn apply(&mut self, registry: &mut EntityRegistry, topic: &str, update: DiscoveryUpdate) -> usize {
        let entities = match update {
            DiscoveryUpdate::Ignore => return self.by_topic.get(topic).map_or(0, Vec::len),
            DiscoveryUpdate::Remove => Vec::new(),
            DiscoveryUpdate::Set(entities) => entities,
        };
        let old = self.by_topic.remove(topic).unwrap_or_default();
        for id in &old {
            let claims = self.claims.entry(id.clone()).or_default();
            let current = claims.last().is_some_and(|t| t == topic);
            claims.retain(|t| t != topic);
            // Another topic's entity under the same id stays.
            if current || claims.is_empty() {
                registry.remove(id);
            }
        }
        let ids: Vec<String> = entities.iter().map(|e| e.id.clone()).collect();
        for entity in entities {
            self.claims.entry(entity.id.clone()).or_default().push(topic.to_string());
            registry.insert(entity);
        }
        for id in old.iter().chain(&ids) {
            let topics = self.claims.get(id).map_or(0, Vec::len);
            if topics == 0 {
                self.claims.remove(id);
            }
            if topics + usize::from(registry.configured.contains(id)) > 1 {
                registry.contested.insert(id.clone());
            } else {
                registry.contested.remove(id);
            }
        }
        let count = ids.len();
        if count > 0 {
            self.by_topic.insert(topic.to_string(), ids);
        }
        count
    }

    /// Reads and applies discovery messages `(topic, payload)` in order; returns why each
    /// malformed one was skipped (for the caller to log).
    pub fn ingest<'a>(
        &mut self,
        registry: &mut EntityRegistry,
        prefix: &str,
        messages: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Vec<DiscoveryError> {
        let mut skipped = Vec::new();
        for (topic, payload) in messages {
            match parse_discovery(prefix, topic, payload) {
                Ok(update) => {
                    self.apply(registry, topic, update);
                }
                Err(why) => skipped.push(why),
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn light(id: &str, name: &str, area: &str) -> Entity {
        Entity { area: Some(area.into()), ..Entity::new(id, name, Kind::Light) }
    }

    #[test]
    fn kinds_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.domain()), Some(k));
        }
        assert_eq!(Kind::parse("vacuum"), None);
        for k in crate::config::ENTITY_KINDS {
            assert!(Kind::parse(k).is_some(), "config accepts kind {k} that the registry does not");
        }
    }

    #[test]
    fn every_change_gives_a_new_generation_never_seen_before() {
        let mut a = EntityRegistry::new();
        let mut b = EntityRegistry::new();
        a.insert(light("x", "Desk Lamp", "Office"));
        b.insert(light("x", "Desk Lamp", "Office"));
        assert_ne!(a.generation(), b.generation(), "two registries never share a state's key");
        let copy = a.clone();
        assert_eq!(copy.generation(), a.generation(), "a clone is the same state");
        let before = a.generation();
        a.insert(light("x", "Desk Light", "Office"));
        assert_ne!(a.generation(), before, "a replacement is a change");
        let before = a.generation();
        assert!(a.remove("nope").is_none());
        assert_eq!(a.generation(), before, "removing nothing changes nothing");
        a.remove("x");
        assert_ne!(a.generation(), before);
    }

    #[test]
    fn registry_add_replace_remove_lookup() {
        let mut r = EntityRegistry::new();
        r.insert(light("a", "Kitchen Ceiling Light", "Kitchen"));
        r.insert(Entity { aliases: vec!["Reading Lamp".into()], ..light("b", "Floor Lamp", "Living Room") });
        r.insert(Entity { area: Some("Kitchen".into()), ..Entity::new("c", "Coffee Maker", Kind::Switch) });
        assert_eq!(r.len(), 3);
        assert_eq!(r.by_name("reading-lamp")[0].id, "b");
        assert_eq!(r.by_name("Floor Lamp")[0].id, "b");
        assert!(r.by_name("ceiling light").is_empty(), "derived names are not names");
        assert_eq!(r.in_area("kitchen", Some(Kind::Light)).len(), 1);
        assert_eq!(r.in_area("KITCHEN", None).len(), 2);
        assert_eq!(r.areas().iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Kitchen", "Living Room"]);
        assert!(r.knows_word("ceiling") && r.knows_word("living") && !r.knows_word("bedroom"));
        let keys: Vec<_> = r.entries()[0].keys.iter().map(|k| (k.text.as_str(), k.derived)).collect();
        assert_eq!(keys, [("kitchen ceiling light", false), ("ceiling light", true)]);

        let old = r.insert(light("b", "Floor Lamp", "Bedroom")).unwrap();
        assert_eq!(old.area.as_deref(), Some("Living Room"));
        assert_eq!(r.len(), 3);
        assert!(r.areas().iter().all(|a| a.name != "Living Room"));
        assert_eq!(r.remove("a").unwrap().name, "Kitchen Ceiling Light");
        assert_eq!(r.get("c").unwrap().name, "Coffee Maker");
        assert_eq!(r.at(0).id, "b");
        assert!(r.remove("a").is_none());
    }

    #[test]
    fn discovery_names_areas_and_ids() {
        let z2m = json!({
            "name": null, "uniq_id": "0x00158d0001_light", "schema": "json",
            "~": "zigbee2mqtt/Desk Lamp", "cmd_t": "~/set", "bri_scl": 254, "brightness": true,
            "dev": {"ids": ["zigbee2mqtt_0x00158d0001"], "name": "Desk Lamp", "sa": "Office"}
        });
        let e = Entity::from_discovery("light", "0x00158d0001", &z2m).unwrap();
        assert_eq!(
            (e.id.as_str(), e.name.as_str(), e.area.as_deref()),
            ("0x00158d0001_light", "Desk Lamp", Some("Office"))
        );
        assert_eq!(e.key("command_topic").as_deref(), Some("zigbee2mqtt/Desk Lamp/set"));
        assert_eq!(e.key("brightness_scale").as_deref(), Some("254"));

        let tasmota = json!({"name": "Relay", "cmd_t": "cmnd/plug/POWER", "dev": {"name": "Coffee Plug"}});
        let e = Entity::from_discovery("switch", "plug_relay", &tasmota).unwrap();
        assert_eq!((e.id.as_str(), e.name.as_str()), ("switch.plug_relay", "Coffee Plug Relay"));

        let plain = json!({"name": "Garage Door", "command_topic": "garage/set", "device_class": "garage"});
        let e = Entity::from_discovery("cover", "garage", &plain).unwrap();
        assert!(e.is_guarded_opening());
        assert_eq!(e.area, None);

        assert!(matches!(Entity::from_discovery("vacuum", "x", &plain), Err(EntityError::UnknownKind { .. })));
        assert!(matches!(Entity::from_discovery("light", "x", &json!([])), Err(EntityError::NotAnObject { .. })));
        assert!(matches!(
            Entity::from_discovery("light", "x", &json!({"name": null})),
            Err(EntityError::NoName { .. })
        ));
    }

    fn lock(id: &str, name: &str, topic: &str) -> Entity {
        let mut e = Entity::new(id, name, Kind::Lock);
        e.config = normalize_discovery(json!({"command_topic": topic}).as_object().unwrap());
        e
    }

    fn garage(id: &str, name: &str, topic: &str) -> Entity {
        let mut e = Entity::new(id, name, Kind::Cover);
        e.config = normalize_discovery(json!({"command_topic": topic, "device_class": "garage"}).as_object().unwrap());
        e
    }

    fn unlock(r: &EntityRegistry, id: &str) -> Result<Vec<MqttCommand>, CommandError> {
        r.commands_for(id, Action::Unlock).unwrap()
    }

    fn refusal(result: Result<Vec<MqttCommand>, CommandError>) -> String {
        match result {
            Err(CommandError::Refused { reason }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn policy_grants_by_name_or_id() {
        let policy = SafetyPolicy::new(&["Front Door".into()], &["cover.garage".into()]);
        let mut r = EntityRegistry::with_policy(policy);
        r.insert(lock("lock.front", "Front-Door", "f/set"));
        r.insert(garage("cover.garage", "Garage", "g/set"));
        r.insert(lock("lock.back", "Back Door", "b/set"));
        assert_eq!(
            unlock(&r, "lock.front").unwrap(),
            [MqttCommand { topic: "f/set".into(), payload: "UNLOCK".into() }]
        );
        assert!(r.commands_for("cover.garage", Action::Open).unwrap().is_ok());
        let why = refusal(unlock(&r, "lock.back"));
        assert!(why.contains("off") && why.contains(r#"allow_unlock = ["lock.back"]"#), "{why}");
    }

    /// Issue 18, case 7: `allow_unlock = ["Front Door"]` and a second lock also named "Front Door".
    #[test]
    fn issue_18_allow_list_name_shared_by_two_locks_allows_neither() {
        let mut r = EntityRegistry::with_policy(SafetyPolicy::new(&["Front Door".into()], &[]));
        r.insert(lock("lock1", "Front Door", "door/front/set"));
        assert!(unlock(&r, "lock1").is_ok(), "a name only one lock has allows it");
        r.insert(lock("lock2", "Front Door", "door/other/set"));
        for id in ["lock1", "lock2"] {
            let why = refusal(unlock(&r, id));
            assert!(
                why.contains("names 2 locks") && why.contains(r#""lock1", "lock2""#) && why.contains("by its id"),
                "{why}"
            );
        }
        // Look-alikes count as the same name: invisible characters fold away.
        r.remove("lock2");
        r.insert(lock("lock3", "Front\u{200b} Door", "door/other/set"));
        assert!(unlock(&r, "lock1").is_err(), "a zero-width look-alike makes the name ambiguous");
        r.remove("lock3");
        r.insert(lock("lock4", "Front\u{200b}Door", "door/other/set"));
        assert!(unlock(&r, "lock1").is_err(), "\"FrontDoor\" sounds like \"Front Door\"");
        r.remove("lock4");
        r.insert(lock("lock3", "Front\u{200b} Door", "door/other/set"));
        // Another kind with the name is no rival: only locks are unlocked.
        r.remove("lock3");
        r.insert(Entity::new("sensor1", "Front Door", Kind::BinarySensor));
        assert!(unlock(&r, "lock1").is_ok());
        // Listed by id: that one lock, whatever else is called so.
        let mut r = EntityRegistry::with_policy(SafetyPolicy::new(&["lock1".into()], &[]));
        r.insert(lock("lock1", "Front Door", "door/front/set"));
        r.insert(lock("lock2", "Front Door", "door/other/set"));
        assert!(unlock(&r, "lock1").is_ok());
        assert!(refusal(unlock(&r, "lock2")).contains("off"));
    }

    #[test]
    fn allow_list_name_of_a_disguised_lock_needs_its_id() {
        let mut r = EntityRegistry::with_policy(SafetyPolicy::new(&["Front Door".into()], &[]));
        r.insert(lock("lock9", "Front\u{200b}Door", "d/set"));
        assert!(refusal(unlock(&r, "lock9")).contains("look-alike"), "{:?}", unlock(&r, "lock9"));
        let mut r = EntityRegistry::with_policy(SafetyPolicy::new(&["Back Door".into()], &[]));
        r.insert(lock("lock8", "Back\u{feff} Door", "b/set"));
        let why = refusal(unlock(&r, "lock8"));
        assert!(why.contains("look-alike") && why.contains(r#"allow_unlock = ["lock8"]"#), "{why}");
    }

    #[test]
    fn config_entries_allow_themselves_only() {
        let text = "[[entity]]\nname = \"Front Door\"\nkind = \"lock\"\ncommand_topic = \"a/set\"\nallow_unlock = true\n\
                    [[entity]]\nname = \"Front Door\"\nkind = \"lock\"\ncommand_topic = \"b/set\"\n";
        let path = std::path::Path::new("test.toml");
        let settings = crate::config::RawConfig::parse(text, path).unwrap().validate(path, path).unwrap();
        let r = EntityRegistry::from_settings(&settings).unwrap();
        let ids: Vec<&str> = r.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["lock.front_door", "lock.front_door_2"]);
        assert!(unlock(&r, "lock.front_door").is_ok());
        let why = refusal(unlock(&r, "lock.front_door_2"));
        assert!(why.contains("`allow_unlock = true` on its [[entity]]"), "{why}");
    }

    #[test]
    fn another_entity_cannot_send_a_guarded_message() {
        let mut r = EntityRegistry::new();
        r.insert(lock("lock1", "Front Door", "door/set"));
        r.insert(garage("g1", "Garage Door", "garage/set"));
        let mut porch = Entity::new("sw1", "Porch Light", Kind::Switch);
        porch.config = normalize_discovery(json!({"cmd_t": "door/set", "pl_on": "UNLOCK"}).as_object().unwrap());
        r.insert(porch);
        let mut fan = Entity::new("fan1", "Fan", Kind::Fan);
        fan.config = normalize_discovery(json!({"cmd_t": "garage/set", "pl_on": "open"}).as_object().unwrap());
        r.insert(fan);
        let why = refusal(r.commands_for("sw1", Action::TurnOn).unwrap());
        assert!(why.contains("Front Door") && why.contains("lock1") && why.contains("unlocking"), "{why}");
        assert!(r.commands_for("sw1", Action::TurnOff).unwrap().is_ok(), "OFF is no unlock");
        assert!(refusal(r.commands_for("fan1", Action::TurnOn).unwrap()).contains("Garage Door"));
        // Once the lock itself may be unlocked, that is the user's choice.
        let mut r2 = EntityRegistry::with_policy(SafetyPolicy::new(&["lock1".into()], &[]));
        for e in r.iter() {
            r2.insert(e.clone());
        }
        assert!(r2.commands_for("sw1", Action::TurnOn).unwrap().is_ok());
    }

    #[test]
    fn an_id_two_discovery_topics_claim_is_not_unlocked() {
        let config = |name: &str, topic: &str| {
            format!(r#"{{"name":"{name}","uniq_id":"lock1","cmd_t":"{topic}"}}"#).into_bytes()
        };
        let policy = SafetyPolicy::new(&["lock1".into()], &[]);
        let mut r = EntityRegistry::with_policy(policy);
        let mut topics = DiscoveredTopics::default();
        let (a, b) = ("homeassistant/lock/a/config", "homeassistant/lock/b/config");
        topics.ingest(&mut r, "homeassistant", [(a, &config("Front Door", "door/front/set")[..])]);
        assert!(unlock(&r, "lock1").is_ok());
        topics.ingest(&mut r, "homeassistant", [(b, &config("Front Door", "door/evil/set")[..])]);
        assert_eq!(r.len(), 1);
        let why = refusal(unlock(&r, "lock1"));
        assert!(why.contains("claimed by more than one"), "{why}");
        // A re-announces: B's claim still stands.
        topics.ingest(&mut r, "homeassistant", [(a, &config("Front Door", "door/front/set")[..])]);
        assert!(unlock(&r, "lock1").is_err());
        // B goes away: A's lock is the only one, and stays known.
        topics.ingest(&mut r, "homeassistant", [(b, &b""[..])]);
        assert_eq!(r.get("lock1").unwrap().key("command_topic").as_deref(), Some("door/front/set"));
        assert_eq!(unlock(&r, "lock1").unwrap()[0].topic, "door/front/set");
    }

    #[test]
    fn disguised_names_are_marked() {
        let mut r = EntityRegistry::new();
        r.insert(light("a", "Kitchen\u{200b} Light", "Kitchen"));
        r.insert(Entity { aliases: vec!["Kitchen Light".into()], ..light("b", "Kitchen\u{a0}Light", "Kitchen") });
        r.insert(light("c", "Kitchen Light", "Kitchen"));
        let keys = |i: usize| r.entries()[i].keys.iter().map(|k| (k.text.clone(), k.disguised)).collect::<Vec<_>>();
        assert_eq!(keys(0), [("kitchen light".to_string(), true), ("light".to_string(), true)]);
        assert_eq!(keys(1)[0], ("kitchen light".to_string(), false), "a plain alias with the same letters is plain");
        assert_eq!(keys(2)[0], ("kitchen light".to_string(), false));
    }

    #[test]
    fn errors_escape_ids() {
        let err = Entity::from_discovery("light", "x", &json!({"uniq_id": "a\u{1b}[2Jb", "name": null})).unwrap_err();
        assert_eq!(err.to_string(), "entity a\\u{1b}[2Jb has no name: give it a `name` (or its device one)");
    }
}
