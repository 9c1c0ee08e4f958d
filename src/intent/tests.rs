//! Recognition end to end on a small home: one test per behaviour.

use super::*;
use crate::home::{Entity, Kind};
use serde_json::json;

fn entity(id: &str, name: &str, area: &str, kind: Kind, config: serde_json::Value) -> Entity {
    let mut e = Entity::new(id, name, kind);
    e.area = (!area.is_empty()).then(|| area.to_string());
    e.config = crate::home::normalize_discovery(config.as_object().unwrap());
    e
}

fn home() -> EntityRegistry {
    let mut r = EntityRegistry::new();
    r.insert(entity(
        "k",
        "Kitchen Light",
        "Kitchen",
        Kind::Light,
        json!({"schema": "json", "cmd_t": "z2m/kitchen/set", "bri_scl": 254}),
    ));
    r.insert(entity(
        "f",
        "Floor Lamp",
        "Living Room",
        Kind::Light,
        json!({"cmd_t": "lamp/set", "bri_cmd_t": "lamp/bri"}),
    ));
    r.insert(entity("g", "Garage Door", "Garage", Kind::Cover, json!({"cmd_t": "garage/set", "dev_cla": "garage"})));
    r.insert(entity("d", "Front Door", "Hallway", Kind::Lock, json!({"cmd_t": "door/set"})));
    r
}

fn en(text: &str) -> Option<IntentMatch> {
    recognize(text, &home(), &Context { language: Language::En, area: None })
}

#[test]
fn turns_on_by_name_with_asr_noise() {
    for text in [
        "Turn on the kitchen light.",
        "turn on the Kitchen-Light",
        "Please switch the kitchen light on!",
        "turn on the kitchen lite",
    ] {
        let m = en(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(m.name, "HassTurnOn", "{text}");
        assert_eq!(m.slots["name"], SlotValue::Text("Kitchen Light".into()));
        assert_eq!(m.actions, [MqttCommand { topic: "z2m/kitchen/set".into(), payload: r#"{"state":"ON"}"#.into() }]);
    }
}

#[test]
fn brightness_in_words_and_digits() {
    for text in [
        "Set the kitchen light to 50%.",
        "set the kitchen light to fifty percent",
        "dim the kitchen light to 50 percent",
    ] {
        let m = en(text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(m.name, "HassLightSet");
        assert_eq!(m.slots["brightness"], SlotValue::Number(50.0));
        assert_eq!(m.actions[0].payload, r#"{"state":"ON","brightness":127}"#);
    }
}

#[test]
fn area_and_satellite_context() {
    let r = home();
    let m = recognize("turn off the lights in the living room", &r, &Context { language: Language::En, area: None })
        .unwrap();
    assert_eq!((m.name.as_str(), m.targets.as_slice()), ("HassTurnOff", ["f".to_string()].as_slice()));
    assert_eq!(m.slots["area"], SlotValue::Text("Living Room".into()));
    assert_eq!(m.slots["domain"], SlotValue::Text("light".into()));
    assert!(recognize("turn off the lights", &r, &Context { language: Language::En, area: None }).is_none());
    let here = Context { language: Language::En, area: Some("Kitchen".into()) };
    let m = recognize("turn off the lights", &r, &here).unwrap();
    assert_eq!(m.targets, ["k"]);
}

#[test]
fn guarded_actions_match_but_are_refused() {
    let m = en("unlock the front door").unwrap();
    assert_eq!(m.name, "HassTurnOff");
    assert!(m.actions.is_empty());
    assert!(m.refused.as_deref().unwrap().contains("allow_unlock"));
    let m = en("open the garage door").unwrap();
    assert_eq!(m.name, "HassTurnOn");
    assert!(m.actions.is_empty() && m.refused.is_some());
    let m = en("close the garage door").unwrap();
    assert_eq!(m.actions[0].payload, "CLOSE");
    let m = en("lock the front door").unwrap();
    assert_eq!(m.actions[0].payload, "LOCK");
}

#[test]
fn german() {
    let r = home();
    let de = Context { language: Language::De, area: None };
    let m = recognize("Schalte das Kitchen Light ein.", &r, &de).unwrap();
    assert_eq!(m.name, "HassTurnOn");
    let m = recognize("Stelle einen Timer für fünf Minuten.", &r, &de).unwrap();
    assert_eq!((m.name.as_str(), &m.slots["minutes"]), ("HassStartTimer", &SlotValue::Number(5.0)));
}

#[test]
fn out_of_domain_gives_nothing() {
    for text in [
        "What's the weather on Mars?",
        "tell me a joke",
        "turn on the bedroom light",
        "banana",
        "",
        "please",
        "turn on the",
        "set the kitchen light to 150 percent",
    ] {
        assert_eq!(en(text), None, "{text}");
    }
}

#[test]
fn custom_intents_publish_their_message() {
    let custom = [CustomIntent {
        name: "GoodNight".into(),
        sentences: vec!["good night [everyone]".into(), "bedtime in {minutes} minutes".into()],
        message: Some(CustomMessage { topic: "home/night".into(), payload: "{minutes}".into() }),
        ..Default::default()
    }];
    let rec = Recognizer::new(&custom).unwrap();
    let ctx = Context { language: Language::En, area: None };
    let m = rec.recognize("Good night, everyone!", &home(), &ctx).unwrap();
    assert_eq!(
        (m.name.as_str(), m.actions[0].topic.as_str(), m.actions[0].payload.as_str()),
        ("GoodNight", "home/night", "{minutes}")
    );
    let m = rec.recognize("bedtime in ten minutes", &home(), &ctx).unwrap();
    assert_eq!(m.actions[0].payload, "10");
}

#[test]
fn json_shape() {
    let m = en("turn on the kitchen light").unwrap();
    assert_eq!(m.intent_json(), json!({"name": "HassTurnOn", "slots": {"name": "Kitchen Light"}}));
}

#[test]
fn same_name_in_two_areas_needs_an_area() {
    let mut r = EntityRegistry::new();
    r.insert(entity("a", "Ceiling Light", "Kitchen", Kind::Light, json!({"cmd_t": "kitchen/ceiling"})));
    r.insert(entity("b", "Ceiling Light", "Bedroom", Kind::Light, json!({"cmd_t": "bedroom/ceiling"})));
    let nowhere = Context { language: Language::En, area: None };
    assert_eq!(recognize("turn on the ceiling light", &r, &nowhere), None, "ambiguous: act on neither");
    let m = recognize("turn on the ceiling light in the bedroom", &r, &nowhere).unwrap();
    assert_eq!(m.targets, ["b"]);
    let kitchen = Context { language: Language::En, area: Some("Kitchen".into()) };
    let m = recognize("turn on the ceiling light", &r, &kitchen).unwrap();
    assert_eq!(m.targets, ["a"], "the satellite's area decides");
}

#[test]
fn near_names_that_mean_other_devices_do_not_match() {
    let mut r = EntityRegistry::new();
    r.insert(entity("l2", "Lamp 2", "Office", Kind::Light, json!({"cmd_t": "lamp2"})));
    r.insert(entity("bath", "Bathroom Light", "Bathroom", Kind::Light, json!({"cmd_t": "bath"})));
    r.insert(entity("tv", "Bedroom TV", "Bedroom", Kind::MediaPlayer, json!({"cmd_t": "tv"})));
    let ctx = Context { language: Language::En, area: None };
    assert_eq!(recognize("turn on lamp 3", &r, &ctx), None);
    assert_eq!(recognize("turn on lamp two", &r, &ctx).unwrap().targets, ["l2"]);
    assert_eq!(recognize("turn on the bedroom light", &r, &ctx), None, "Bedroom is an area: not Bathroom Light");
    assert_eq!(recognize("turn on the bathroom lite", &r, &ctx).unwrap().targets, ["bath"]);
}

#[test]
fn recognition_is_repeatable() {
    let r = home();
    let ctx = Context { language: Language::En, area: Some("Kitchen".into()) };
    let first = recognize("set the kitchen light to 30%", &r, &ctx);
    for _ in 0..3 {
        assert_eq!(recognize("set the kitchen light to 30%", &r, &ctx), first);
    }
}
