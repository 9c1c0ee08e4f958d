//! The engine on small sentence files written here; the real data is checked against hassil
//! itself in tests/hassil.rs.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{LanguageGrammar, SlotList, TextValue};

fn grammar(data: Value) -> LanguageGrammar {
    LanguageGrammar::from_json(&data, &[]).unwrap()
}

fn home() -> HashMap<String, SlotList> {
    let entity = |name: &str, domain: &str, area: &str| {
        let mut context = Map::new();
        context.insert("domain".into(), json!(domain));
        context.insert("area".into(), json!(area));
        TextValue::literal(name, json!(name), context)
    };
    HashMap::from([
        (
            "name".to_string(),
            SlotList::text(vec![
                entity("Kitchen Light", "light", "Kitchen"),
                entity("Kitchen", "switch", "Kitchen"),
                entity("Garage Door", "cover", "Garage"),
            ]),
        ),
        (
            "area".to_string(),
            SlotList::text(vec![
                TextValue::literal("Kitchen", json!("Kitchen"), Map::new()),
                TextValue::literal("Living Room", json!("Living Room"), Map::new()),
            ]),
        ),
    ])
}

fn sample() -> LanguageGrammar {
    grammar(sample_json())
}

fn sample_json() -> Value {
    json!({
        "language": "en",
        "skip_words": ["please", "can you"],
        "expansion_rules": {"the": "(the|my)", "turn": "(turn|switch)"},
        "lists": {
            "brightness": {"range": {"type": "percentage", "from": 0, "to": 100}},
            "temperature": {"range": {"from": 0, "to": 40, "fractions": "halves"}},
            "query": {"wildcard": true},
            "on_off": {"values": [{"in": "(on|switched on)", "out": "on"}, "off"]}
        },
        "intents": {
            "HassTurnOn": {"data": [
                {"sentences": ["<turn> on [<the>] {name}", "<turn> [<the>] {name} on"],
                 "requires_context": {"domain": ["light", "switch"]}, "response": "default"},
                {"sentences": ["<turn> (on;[<the>] light[s] in [<the>] {area})"], "slots": {"domain": "light"}},
                {"sentences": ["lights on"], "slots": {"domain": "light"}, "requires_context": {"area": {"slot": true}}}
            ]},
            "HassLightSet": {"data": [
                {"sentences": ["set [<the>] {name} [brightness] to {brightness}[([ ]%)| percent]"]}
            ]},
            "HassClimateSetTemperature": {"data": [{"sentences": ["set [the] temperature to {temperature} degrees"]}]},
            "HassGetState": {"data": [{"sentences": ["is [<the>] {name} {on_off:state}"]}]},
            "Search": {"data": [{"sentences": ["search for {query}"]}]}
        }
    })
}

fn best(g: &LanguageGrammar, text: &str, context: Value) -> Option<(String, Value)> {
    let context = context.as_object().cloned().unwrap_or_default();
    g.recognize_best(text, &home(), &context).map(|r| (r.intent, serde_json::to_value(&r.slots).unwrap()))
}

#[test]
fn names_rules_optionals_and_context_filter() {
    let g = sample();
    assert_eq!(best(&g, "Turn on the kitchen light, please!", json!({})).unwrap().1, json!({"name": "Kitchen Light"}));
    assert_eq!(best(&g, "switch my kitchen light on", json!({})).unwrap().0, "HassTurnOn");
    // A cover is not a light or a switch: the value is filtered by requires_context.
    assert_eq!(best(&g, "turn on the garage door", json!({})), None);
}

#[test]
fn the_longer_name_wins() {
    let g = sample();
    // "kitchen" (a switch) and "kitchen light" are both names; hassil prefers the longer.
    let (_, slots) = best(&g, "turn on kitchen light", json!({})).unwrap();
    assert_eq!(slots, json!({"name": "Kitchen Light"}));
}

#[test]
fn permutations_and_context_slots() {
    let g = sample();
    let (intent, slots) = best(&g, "turn on the lights in the kitchen", json!({})).unwrap();
    assert_eq!((intent.as_str(), slots), ("HassTurnOn", json!({"area": "Kitchen", "domain": "light"})));
    let (_, slots) = best(&g, "turn the lights in the kitchen on", json!({})).unwrap();
    assert_eq!(slots, json!({"area": "Kitchen", "domain": "light"}));
    assert!(best(&g, "turn on in the kitchen the lights", json!({})).is_none(), "the items keep their insides");
    // Without an area said, the satellite's area fills the slot; without either, no match.
    assert_eq!(best(&g, "lights on", json!({})), None);
    let here = json!({"area": {"value": "Living Room", "text": "Living Room"}});
    assert_eq!(best(&g, "lights on", here).unwrap().1, json!({"area": "Living Room", "domain": "light"}));
}

#[test]
fn ranges_take_digits_fractions_and_percent_signs() {
    let g = sample();
    for text in
        ["set the kitchen light to 50%", "set kitchen light brightness to 50 %", "set the kitchen light to 50 percent"]
    {
        assert_eq!(
            best(&g, text, json!({})).unwrap().1,
            json!({"brightness": 50.0, "name": "Kitchen Light"}),
            "{text}"
        );
    }
    assert_eq!(best(&g, "set the kitchen light to 101%", json!({})), None);
    assert_eq!(best(&g, "set temperature to 21.5 degrees", json!({})).unwrap().1, json!({"temperature": 21.5}));
    assert_eq!(best(&g, "set temperature to 21.3 degrees", json!({})), None);
}

#[test]
fn text_lists_report_out_values_and_wildcards_take_the_rest() {
    let g = sample();
    assert_eq!(
        best(&g, "is the garage door switched on", json!({})).unwrap().1,
        json!({"name": "Garage Door", "state": "on"})
    );
    assert_eq!(
        best(&g, "is the garage door off", json!({})).unwrap().1,
        json!({"name": "Garage Door", "state": "off"})
    );
    assert_eq!(best(&g, "search for Bohemian Rhapsody", json!({})).unwrap().1, json!({"query": "Bohemian Rhapsody"}));
    // A skip word inside a wildcard stays.
    assert_eq!(best(&g, "search for please please me", json!({})).unwrap().1, json!({"query": "please please me"}));
}

#[test]
fn broken_data_is_an_error_naming_the_place() {
    let err = LanguageGrammar::from_json(&json!({"intents": {"X": {"data": [{"sentences": ["turn (on"]}]}}}), &[])
        .unwrap_err();
    assert!(err.to_string().contains("intents.X.data[0]"), "{err}");
    let err =
        LanguageGrammar::from_json(&json!({"intents": {"X": {"data": [{"sentences": ["<nope>"]}]}}}), &[]).unwrap_err();
    assert!(err.to_string().contains("<nope> is not defined"), "{err}");
    let err = LanguageGrammar::from_json(
        &json!({"expansion_rules": {"a": "<b>", "b": "<a>"}, "intents": {"X": {"data": [{"sentences": ["<a>"]}]}}}),
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("recursive"), "{err}");
}

#[test]
fn yaml_custom_sentences_read_as_the_data_is() {
    let file = super::data::yaml_to_json(
        "language: en\nintents:\n  HassTurnOn:\n    data:\n      - sentences:\n          - \"light up [the] {name}\"\n        \
         requires_context:\n          domain: light\nlists:\n  level:\n    range:\n      from: 0\n      to: 100\n      step: 0.5\n",
    )
    .unwrap();
    assert_eq!(file["intents"]["HassTurnOn"]["data"][0]["sentences"][0], json!("light up [the] {name}"));
    assert_eq!(file["lists"]["level"]["range"], json!({"from": 0, "to": 100, "step": 0.5}));
    let g = LanguageGrammar::from_json(&sample_json(), &[file]).unwrap();
    let r = g.recognize_best("light up the kitchen light", &home(), &Map::new()).unwrap();
    assert_eq!(r.intent, "HassTurnOn");
    assert!(g.recognize_best("light up the kitchen", &home(), &Map::new()).is_none(), "requires a light");
}

#[test]
fn yaml_mistakes_are_named() {
    let err = super::data::yaml_to_json("intents:\n  A: [unclosed\n").unwrap_err();
    assert!(err.contains("not valid YAML at line"), "{err}");
    assert_eq!(
        super::data::yaml_to_json("a: &x [1]\nb: *x\n").unwrap(),
        json!({"a": [1], "b": [1]}),
        "aliases resolve"
    );
    let err = super::data::yaml_to_json("a: 1\n---\nb: 2\n").unwrap_err();
    assert!(err.contains("2 YAML documents"), "{err}");
}

#[test]
fn custom_sentence_folders_follow_home_assistants_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::create_dir_all(dir.path().join("pt_BR")).unwrap();
    std::fs::write(dir.path().join("en/b.yaml"), "language: en\nskip_words: [b]\n").unwrap();
    std::fs::write(dir.path().join("en/a.yml"), "language: en\nskip_words: [a]\n").unwrap();
    std::fs::write(dir.path().join("en/notes.txt"), "not sentences").unwrap();
    std::fs::write(dir.path().join("pt_BR/x.yaml"), "language: pt-BR\n").unwrap();
    let files = super::data::custom_sentences(dir.path(), "en").unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["skip_words"], json!(["a"]), "in file-name order");
    assert_eq!(super::data::custom_sentences(dir.path(), "pt-BR").unwrap().len(), 1);
    assert!(super::data::custom_sentences(dir.path(), "de").unwrap().is_empty());
    std::fs::write(dir.path().join("en/c.yaml"), "language: de\n").unwrap();
    let err = super::data::custom_sentences(dir.path(), "en").unwrap_err().to_string();
    assert!(err.contains("c.yaml") && err.contains("\"de\""), "{err}");
    let err = super::data::custom_sentences(&dir.path().join("nope"), "en").unwrap_err().to_string();
    assert!(err.contains("no such folder"), "{err}");
}
