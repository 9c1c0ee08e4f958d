//! Who may be unlocked or opened by voice. The guard is about entities, not names: an
//! allow-list entry names one entity — by its id, or by a name only while exactly one lock
//! (or garage door/gate) answers to it — and a `[[entity]]` allows itself. Pure: the
//! registry asks [`permit`] when it builds a command, so the answer always fits the home as it
//! is now, with every device discovery has added since the config was read.

use std::collections::HashSet;

use super::command::{Danger, Permit};
use super::names::{Escaped, fold};
use super::{Entity, EntityRegistry, Kind, MqttCommand};

/// An action refused unless the entity allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Guarded {
    /// Unlocking a lock.
    Unlock,
    /// Opening a garage door or gate.
    Open,
}

impl Guarded {
    /// The guarded action of `entity`, if it has one.
    pub(super) fn of(entity: &Entity) -> Option<Guarded> {
        if entity.kind == Kind::Lock {
            Some(Guarded::Unlock)
        } else if entity.is_guarded_opening() {
            Some(Guarded::Open)
        } else {
            None
        }
    }

    /// The config key that allows it.
    fn key(self) -> &'static str {
        match self {
            Guarded::Unlock => "allow_unlock",
            Guarded::Open => "allow_open",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Guarded::Unlock => "unlocking",
            Guarded::Open => "opening",
        }
    }

    fn things(self) -> &'static str {
        match self {
            Guarded::Unlock => "locks",
            Guarded::Open => "garage doors/gates",
        }
    }
}

/// One allow-list of `[intent]`: each entry an entity id or a name.
#[derive(Debug, Clone, Default)]
struct AllowList {
    /// Entries as written (trimmed), compared with entity ids exactly.
    ids: HashSet<String>,
    /// Entries folded ([`fold`]) without spaces, as speech is compared ("Front Door" and
    /// "FrontDoor" sound the same), with the entry as written (for messages).
    names: Vec<(String, String)>,
}

impl AllowList {
    fn new(entries: &[String]) -> AllowList {
        let mut list = AllowList::default();
        for entry in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            list.ids.insert(entry.to_string());
            let folded = fold(entry).replace(' ', "");
            if !folded.is_empty() && !list.names.iter().any(|(f, _)| *f == folded) {
                list.names.push((folded, entry.to_string()));
            }
        }
        list
    }
}

/// `[intent] allow_unlock` / `allow_open`: entities that may be unlocked/opened by voice
/// besides `[[entity]]` entries that say so themselves. Mostly for discovered entities, which
/// cannot carry the flag. An entry is an entity id (the discovery `unique_id`, else
/// `<component>.<object_id>`; for an `[[entity]]` its `unique_id`, else `<kind>.<name_folded>`),
/// or a name, which counts only while exactly one such entity has it.
#[derive(Debug, Clone, Default)]
pub struct SafetyPolicy {
    /// Locks that may be unlocked.
    unlock: AllowList,
    /// Garage doors and gates that may be opened.
    open: AllowList,
}

impl SafetyPolicy {
    /// A policy from lists of entity ids or names.
    pub fn new(allow_unlock: &[String], allow_open: &[String]) -> SafetyPolicy {
        SafetyPolicy { unlock: AllowList::new(allow_unlock), open: AllowList::new(allow_open) }
    }

    fn list(&self, guarded: Guarded) -> &AllowList {
        match guarded {
            Guarded::Unlock => &self.unlock,
            Guarded::Open => &self.open,
        }
    }
}

/// Whether the guarded action of the entity at `index` is allowed, or why not, in order:
/// its id is claimed by two configs (refused: which one is meant is unknown); its own
/// `[[entity]]` allows it; its id is listed; its name is listed and no other entity of its
/// sort answers to that name (compared as speech is: without spaces, invisible characters
/// dropped), and its name is written plainly (refused otherwise, with the id
/// to list instead). Entities without a guarded action are always allowed.
pub(super) fn permit(registry: &EntityRegistry, index: usize) -> Permit {
    let entry = &registry.entries()[index];
    let e = &entry.entity;
    let Some(guarded) = Guarded::of(e) else { return Permit::Allowed };
    let (key, verb, name) = (guarded.key(), guarded.verb(), Escaped(&e.name));
    if registry.contested.contains(&e.id) {
        return Permit::Refused(format!(
            "{verb} {name} by voice is refused: its id {:?} is claimed by more than one device config (discovery topics, or a discovery topic and an [[entity]]), so which device it is is unknown; give each device its own unique_id or remove the duplicate",
            e.id
        ));
    }
    let own = match guarded {
        Guarded::Unlock => e.allow_unlock,
        Guarded::Open => e.allow_open,
    };
    let list = registry.policy.list(guarded);
    if own || list.ids.contains(&e.id) {
        return Permit::Allowed;
    }
    for (folded, written) in &list.names {
        let Some(matched) = entry.keys.iter().find(|k| !k.derived && k.spelled.joined == *folded) else { continue };
        let same: Vec<&Entity> = registry
            .entries()
            .iter()
            .filter(|r| Guarded::of(&r.entity) == Some(guarded))
            .filter(|r| r.keys.iter().any(|k| !k.derived && k.spelled.joined == *folded))
            .map(|r| &r.entity)
            .collect();
        if same.len() > 1 {
            let ids: Vec<String> = same.iter().map(|s| format!("{:?}", s.id)).collect();
            return Permit::Refused(format!(
                "{verb} {name} by voice is refused: {written:?} in [intent] {key} names {} {} (ids {}), so it allows none of them; list the one you mean by its id, e.g. {key} = [{:?}]",
                same.len(),
                guarded.things(),
                ids.join(", "),
                e.id
            ));
        }
        if matched.disguised {
            return Permit::Refused(format!(
                "{verb} {name} by voice is refused: its name is written with invisible or look-alike characters, so {written:?} in [intent] {key} does not allow it; list it by its id: {key} = [{:?}]",
                e.id
            ));
        }
        return Permit::Allowed;
    }
    let how = if registry.configured.contains(&e.id) {
        format!("`{key} = true` on its [[entity]]")
    } else {
        format!("`[intent] {key} = [{:?}]`", e.id)
    };
    Permit::Refused(format!("{verb} {name} by voice is off; allow it with {how}"))
}

/// Refuses messages built for the entity at `index` that would do another entity's guarded
/// action — a switch whose "on" publishes "UNLOCK" to a lock's topic — unless that entity
/// allows it.
pub(super) fn check_others(
    registry: &EntityRegistry,
    index: usize,
    action: super::Action,
    messages: &[MqttCommand],
) -> Result<(), super::CommandError> {
    let sender = registry.at(index);
    for (j, other) in registry.entries().iter().enumerate() {
        if j == index {
            continue;
        }
        let Some(danger) = Danger::of(&other.entity) else { continue };
        for m in messages {
            let Some(why) = danger.threat_from_other(m) else { continue };
            if permit(registry, j) == Permit::Allowed {
                continue;
            }
            return Err(super::CommandError::Refused {
                reason: format!(
                    "{} (id {:?}): \"{action}\" would publish {:?} to {}, which for {} {} (id {:?}) {why}, and {} it by voice is not allowed; Hearth refuses it — fix the discovery config of one of them",
                    Escaped(&sender.name),
                    sender.id,
                    m.payload,
                    Escaped(&m.topic),
                    other.entity.kind,
                    Escaped(&other.entity.name),
                    other.entity.id,
                    Guarded::of(&other.entity).map_or("doing", Guarded::verb),
                ),
            });
        }
    }
    Ok(())
}
