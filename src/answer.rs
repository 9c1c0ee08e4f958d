//! What Hearth says back: Home Assistant's own response templates (the `responses` of the
//! intents data, Jinja) rendered with minijinja, so an answer comes out as Assist would say it
//! ("Licht eingeschaltet", "Timer set for 5 minutes"); Hearth's own templates
//! (`sentences/<lang>/responses.yaml`, same layout) fill in where the data has none or is not
//! installed, and hold the answers only Hearth gives (a timer that rings, a state not known yet).
//!
//! Home Assistant renders its templates with Python's Jinja and its own helpers; the data uses
//! a few things minijinja does not take as they are, handled here:
//! - `{% if x: %}`, `{% else: %}`: the Python-style colon is dropped before parsing.
//! - Python methods on values (`translations.get(...)`, `domain.replace('_', ' ')`,
//!   `'{0:02d}'.format(...)`): minijinja-contrib's Python compatibility.
//! - `state_attr(entity_id, name)`: a function over the attributes of the states given.
//!
//! Templates are compiled once at start; one that does not compile or render is skipped for the
//! next candidate (logged at debug level: the data is not ours to fix).
//! The rendered text's white space is collapsed. Nothing here logs or stores an answer.

use std::collections::HashMap;

use minijinja::{Environment, Value as Jinja};
use serde_json::Value;

use crate::intent::Language;

/// Hearth's own response files, by language.
const OWN: [(Language, &str); 2] = [
    (Language::En, include_str!("../sentences/en/responses.yaml")),
    (Language::De, include_str!("../sentences/de/responses.yaml")),
];

/// The intents Hearth carries out and answers (its own sentences' and the timers').
pub const ANSWERED: [&str; 17] = [
    "HassTurnOn",
    "HassTurnOff",
    "HassLightSet",
    "HassSetPosition",
    "HassStopMoving",
    "HassFanSetSpeed",
    "HassClimateSetTemperature",
    "HassClimateGetTemperature",
    "HassGetState",
    "HassStartTimer",
    "HassCancelTimer",
    "HassCancelAllTimers",
    "HassPauseTimer",
    "HassUnpauseTimer",
    "HassIncreaseTimer",
    "HassDecreaseTimer",
    "HassTimerStatus",
];

/// Where a template comes from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Home Assistant's intents data.
    Data,
    /// `sentences/<lang>/responses.yaml`.
    Own,
}

/// Every response template, compiled.
pub struct Answers {
    env: Environment<'static>,
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answers").field("templates", &self.len()).finish()
    }
}

fn name(origin: Origin, language: &str, group: &str, key: &str) -> String {
    let origin = match origin {
        Origin::Data => "data",
        Origin::Own => "own",
    };
    format!("{origin}/{}/{group}/{key}", language.to_ascii_lowercase())
}

/// `{% if x: %}` → `{% if x %}`: the colon Python-style templates put at the end of a block
/// tag, which Jinja's grammar does not have.
pub fn drop_block_colons(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{%") {
        let Some(close) = rest[open..].find("%}").map(|c| open + c) else { break };
        let tag = &rest[open..close];
        let (body, trim) = match tag.strip_suffix('-') {
            Some(body) => (body, "-"),
            None => (tag, ""),
        };
        out.push_str(&rest[..open]);
        match body.trim_end().strip_suffix(':') {
            Some(without) => {
                out.push_str(without);
                out.push(' ');
                out.push_str(trim);
            }
            None => out.push_str(tag),
        }
        out.push_str("%}");
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Collapses white space and trims.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Answers {
    /// Hearth's own templates and those of `data` (`(language code, responses)` of each
    /// language of the intents data that is loaded).
    pub fn new<'a>(data: impl IntoIterator<Item = (&'a str, &'a Value)>) -> Answers {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // A template that loops forever (none of the data's does) must not hang the handler.
        env.set_fuel(Some(200_000));
        env.add_function("state_attr", state_attr);
        let mut answers = Answers { env };
        for (language, responses) in data {
            answers.add(Origin::Data, language, responses);
        }
        for (language, text) in OWN {
            match crate::intent::ha::data::yaml_to_json(text) {
                Ok(value) => answers.add(Origin::Own, language.code(), &value["responses"]),
                // Only a broken file in this repository gets here; tests/answers prove it never does.
                Err(e) => tracing::error!("sentences/{}/responses.yaml is broken: {e}", language.code()),
            }
        }
        answers
    }

    /// Adds `responses` (`{"intents": {intent: {key: template}}, "errors": {key: template}}`).
    fn add(&mut self, origin: Origin, language: &str, responses: &Value) {
        let mut add = |group: &str, key: &str, template: &Value| {
            let Some(template) = template.as_str() else { return };
            let name = name(origin, language, group, key);
            if let Err(e) = self.env.add_template_owned(name.clone(), drop_block_colons(template)) {
                tracing::debug!(template = %name, "response template skipped: {e}");
            }
        };
        for (intent, keys) in responses.pointer("/intents").and_then(Value::as_object).into_iter().flatten() {
            for (key, template) in keys.as_object().into_iter().flatten() {
                add(intent, key, template);
            }
        }
        for (key, template) in responses.pointer("/errors").and_then(Value::as_object).into_iter().flatten() {
            add("errors", key, template);
        }
    }

    /// Number of templates compiled.
    pub fn len(&self) -> usize {
        self.env.templates().count()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.env.templates().next().is_none()
    }

    /// The answer to `intent` in `language`: the data's template `key` (Home Assistant's choice
    /// for the sentence that matched), else its `default`, else Hearth's own. `None` when no
    /// template renders. An empty answer (`HassNevermind`) is `Some("")`.
    pub fn intent(&self, language: Language, intent: &str, key: Option<&str>, context: &Value) -> Option<String> {
        let keys: Vec<&str> = key.into_iter().chain(["default"]).collect();
        let candidates = [Origin::Data, Origin::Own]
            .into_iter()
            .flat_map(|origin| keys.iter().map(move |k| name(origin, language.code(), intent, k)));
        self.first(candidates, context)
    }

    /// The error message `key` (`no_intent`, `timer_not_found`, …) in `language`.
    pub fn error(&self, language: Language, key: &str, context: &Value) -> Option<String> {
        let candidates = [Origin::Data, Origin::Own].into_iter().map(|o| name(o, language.code(), "errors", key));
        self.first(candidates, context)
    }

    fn first(&self, candidates: impl Iterator<Item = String>, context: &Value) -> Option<String> {
        let context = Jinja::from_serialize(context);
        for name in candidates {
            // A name without a template is the next candidate's turn, not an error.
            let Ok(template) = self.env.get_template(&name) else { continue };
            match template.render(&context) {
                Ok(text) => return Some(tidy(&text)),
                Err(e) => tracing::debug!(template = %name, "response template did not render: {e}"),
            }
        }
        None
    }
}

/// `state_attr(entity_id, name)`: the attribute of the state in the context (`state` or one of
/// `query.matched`), or none.
fn state_attr(state: &minijinja::State, entity_id: String, attribute: String) -> Jinja {
    let matches = |s: &Jinja| s.get_attr("entity_id").ok().and_then(|v| v.as_str().map(|id| id == entity_id));
    let mut states = vec![state.lookup("state").unwrap_or_default()];
    if let Some(matched) = state.lookup("query").and_then(|q| q.get_attr("matched").ok())
        && let Ok(iter) = matched.try_iter()
    {
        states.extend(iter);
    }
    states
        .into_iter()
        .find(|s| matches(s) == Some(true))
        .and_then(|s| s.get_attr("attributes").ok())
        .and_then(|a| a.get_attr(&attribute).ok())
        .filter(|v| !v.is_undefined())
        .unwrap_or(Jinja::from(()))
}

/// A length as words in `language`: "5 minutes and 20 seconds", "1 Stunde und 3 Minuten".
pub fn duration_text(total_secs: u64, language: Language) -> String {
    let (h, m, s) = (total_secs / 3600, total_secs / 60 % 60, total_secs % 60);
    let (units, and): ([(&str, &str); 3], &str) = match language {
        Language::De => ([("Stunde", "Stunden"), ("Minute", "Minuten"), ("Sekunde", "Sekunden")], "und"),
        _ => ([("hour", "hours"), ("minute", "minutes"), ("second", "seconds")], "and"),
    };
    let parts: Vec<String> = [h, m, s]
        .into_iter()
        .zip(units)
        .filter(|(n, _)| *n > 0)
        .map(|(n, (one, many))| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
    match parts.as_slice() {
        [] => format!("0 {}", units[2].1),
        [one] => one.clone(),
        [first @ .., last] => format!("{} {and} {last}", first.join(", ")),
    }
}

/// Slots as Home Assistant's templates see them: each value as text.
pub fn slots_json(
    slots: &std::collections::BTreeMap<String, crate::intent::SlotValue>,
) -> serde_json::Map<String, Value> {
    slots
        .iter()
        .map(|(k, v)| {
            let text = match v {
                crate::intent::SlotValue::Text(t) => t.clone(),
                crate::intent::SlotValue::Number(n) => crate::intent::numbers::format(*n),
            };
            (k.clone(), Value::String(text))
        })
        .collect()
}

/// The `state` object of a device for the templates: its name, domain and id, and its state
/// (`state`, `state_with_unit`, `attributes`) when known.
pub fn state_json(entity: &crate::home::Entity, state: Option<(&str, &HashMap<String, Value>)>) -> Value {
    let unit = entity.key("unit_of_measurement").unwrap_or_default();
    let (value, attributes) = match state {
        Some((value, attributes)) => (value.to_owned(), serde_json::to_value(attributes).unwrap_or_default()),
        None => ("unknown".to_owned(), serde_json::json!({})),
    };
    let with_unit = if unit.is_empty() { value.clone() } else { format!("{value} {unit}") };
    serde_json::json!({
        "entity_id": entity.id,
        "name": entity.name,
        "domain": entity.kind.domain(),
        "state": value,
        "state_with_unit": with_unit,
        "attributes": attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_colons_are_dropped_from_block_tags_only() {
        assert_eq!(
            drop_block_colons("{% if a < 1: %}x{% elif b: -%} y {%- else: %}z{% endif %} {{ '{0:02d}' }}"),
            "{% if a < 1 %}x{% elif b -%} y {%- else %}z{% endif %} {{ '{0:02d}' }}"
        );
        assert_eq!(drop_block_colons("no tags"), "no tags");
        assert_eq!(drop_block_colons("{% broken"), "{% broken");
    }

    #[test]
    fn the_datas_template_wins_then_its_default_then_hearths_own() {
        let data = json!({"intents": {
            "HassTurnOn": {"default": "Turned on {{ slots.name }}", "lights_area": "Turned on the lights"},
            "HassPauseTimer": {"default": "{% if x: %}"},
        }, "errors": {"no_intent": "Sorry: {{ 1 + }}"}});
        let answers = Answers::new([("en", &data)]);
        let slots = json!({"slots": {"name": "Desk Lamp"}});
        let en = Language::En;
        assert_eq!(answers.intent(en, "HassTurnOn", Some("lights_area"), &slots).unwrap(), "Turned on the lights");
        assert_eq!(answers.intent(en, "HassTurnOn", Some("nope"), &slots).unwrap(), "Turned on Desk Lamp");
        // A template that does not compile gives way to Hearth's own.
        assert_eq!(answers.intent(en, "HassPauseTimer", None, &json!({})).unwrap(), "Timer paused");
        assert_eq!(answers.error(en, "no_intent", &json!({})).unwrap(), "Sorry, I did not understand that");
        assert_eq!(answers.intent(Language::De, "HassPauseTimer", None, &json!({})).unwrap(), "Timer angehalten");
        assert_eq!(answers.intent(en, "HassNevermind", None, &json!({})).unwrap(), "");
        assert!(answers.intent(en, "HassUnknown", None, &json!({})).is_none());
    }

    #[test]
    fn python_methods_and_state_attr_work() {
        let data = json!({"intents": {
            "HassTurnOn": {"default": "{% set t = {'light': 'the light'} %}Turned on {{ t.get(state.domain) }}"},
            "HassClimateGetTemperature": {"default": "{% set c = state_attr(state.entity_id, 'current_temperature') %}{{ c }} degrees"},
        }, "errors": {"no_domain": "Sorry, no {{ domain.replace('_', ' ') }}"}});
        let answers = Answers::new([("en", &data)]);
        let en = Language::En;
        let ctx = json!({"state": {"domain": "light", "entity_id": "climate.x", "attributes": {"current_temperature": 21.5}}});
        assert_eq!(answers.intent(en, "HassTurnOn", None, &ctx).unwrap(), "Turned on the light");
        assert_eq!(answers.intent(en, "HassClimateGetTemperature", None, &ctx).unwrap(), "21.5 degrees");
        assert_eq!(
            answers.error(en, "no_domain", &json!({"domain": "media_player"})).unwrap(),
            "Sorry, no media player"
        );
    }

    #[test]
    fn hearths_own_answers_render_in_both_languages() {
        let answers = Answers::new([]);
        for language in [Language::En, Language::De] {
            let timers = json!({"slots": {"timers": [
                {"name": "pizza", "left_text": duration_text(200, language), "is_active": true},
                {"name": "", "left_text": duration_text(60, language), "is_active": false},
            ], "canceled": 2, "duration_text": duration_text(300, language), "name": "pizza",
               "temperature": "21.5"}, "state": {"name": "Hall", "state_with_unit": "21.5 °C", "domain": "light"}});
            for intent in ANSWERED {
                let text = answers.intent(language, intent, None, &timers);
                assert!(text.as_ref().is_some_and(|t| !t.is_empty()), "{language:?} {intent}: {text:?}");
            }
            for error in [
                "no_intent",
                "no_state",
                "timer_not_found",
                "multiple_timers_matched",
                "too_many_timers",
                "timer_already",
                "timer_bad_duration",
                "timer_finished",
                "device_failed",
            ] {
                assert!(
                    answers.error(language, error, &json!({"name": "pizza", "state": "paused"})).is_some(),
                    "{error}"
                );
            }
        }
        let status =
            json!({"slots": {"timers": [{"name": "", "left_text": "3 Minuten und 20 Sekunden", "is_active": true}]}});
        assert_eq!(
            answers.intent(Language::De, "HassTimerStatus", None, &status).unwrap(),
            "noch 3 Minuten und 20 Sekunden"
        );
        let start = json!({"slots": {"duration_text": "5 Minuten"}});
        assert_eq!(
            answers.intent(Language::De, "HassStartTimer", None, &start).unwrap(),
            "Timer für 5 Minuten gestellt"
        );
        assert_eq!(
            answers.error(Language::En, "timer_finished", &json!({"name": "pizza"})).unwrap(),
            "pizza timer is done"
        );
    }

    #[test]
    fn lengths_in_words() {
        assert_eq!(duration_text(200, Language::De), "3 Minuten und 20 Sekunden");
        assert_eq!(duration_text(3_661, Language::En), "1 hour, 1 minute and 1 second");
        assert_eq!(duration_text(300, Language::En), "5 minutes");
        assert_eq!(duration_text(0, Language::En), "0 seconds");
        let slots = [("minutes", crate::intent::SlotValue::Number(5.0)), ("t", crate::intent::SlotValue::Number(21.5))]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
        let text = slots_json(&slots);
        assert_eq!((text["minutes"].as_str(), text["t"].as_str()), (Some("5"), Some("21.5")));
    }
}
