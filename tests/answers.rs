//! Home Assistant's own response templates (home-assistant-intents, fetched by
//! scripts/setup-test-env) rendered by Hearth's template engine: every template of the
//! intents Hearth carries out renders in English and German, and the answers read as Assist's.

mod support;

use hearth::answer::Answers;
use hearth::intent::Language;
use serde_json::json;

fn answers(languages: &[Language]) -> Answers {
    let data = support::intents_data();
    let assist = hearth::intent::ha::assist::Assist::load(&data, languages, None).expect("load the intents data");
    let recognizer = hearth::intent::Recognizer::new(&[]).unwrap().with_assist(assist);
    Answers::new(recognizer.responses())
}

/// A context with everything a template of these intents may look at.
fn context() -> serde_json::Value {
    json!({
        "slots": {"name": "Desk Lamp", "area": "Kitchen", "domain": "light", "device_class": "garage",
                  "brightness": "50", "temperature": "21", "position": "50", "hours": "1", "minutes": "5",
                  "seconds": "30", "canceled": 1, "state": "on", "percentage": "50",
                  "timers": [{"name": "pizza", "area": "Kitchen", "is_active": true, "total_seconds_left": 200,
                              "rounded_hours_left": 0, "rounded_minutes_left": 3, "rounded_seconds_left": 20,
                              "start_hours": 0, "start_minutes": 5, "start_seconds": 0}]},
        "state": {"entity_id": "light.desk_lamp", "name": "Desk Lamp", "domain": "light", "state": "on",
                  "state_with_unit": "on", "attributes": {"current_temperature": 21.5, "temperature": 22}},
        "query": {"matched": [{"entity_id": "light.desk_lamp", "name": "Desk Lamp", "state": "on"}], "unmatched": []},
    })
}

#[test]
#[ignore = "needs the test environment (Home Assistant's intents data): run scripts/test"]
fn every_response_of_hearths_intents_renders() {
    let answers = answers(&[Language::En, Language::De]);
    let data = support::intents_data();
    let assist = hearth::intent::ha::assist::Assist::load(&data, &[Language::En, Language::De], None).unwrap();
    let ctx = context();
    let (mut total, mut rendered) = (0, 0);
    for language in [Language::En, Language::De] {
        let responses = &assist.grammar(language).unwrap().responses;
        for intent in hearth::answer::ANSWERED {
            for key in responses["intents"][intent].as_object().into_iter().flatten().map(|(k, _)| k) {
                total += 1;
                match answers.intent(language, intent, Some(key), &ctx) {
                    Some(text) if !text.is_empty() => rendered += 1,
                    other => eprintln!("{language:?} {intent}/{key}: {other:?}"),
                }
            }
        }
    }
    eprintln!("rendered {rendered} of {total} response templates");
    assert!(total > 80, "only {total} templates in the data");
    assert_eq!(rendered, total);
}

#[test]
#[ignore = "needs the test environment (Home Assistant's intents data): run scripts/test"]
fn answers_read_as_assists() {
    let answers = answers(&[Language::En, Language::De]);
    let ctx = context();
    let say = |language, intent, key: Option<&str>| answers.intent(language, intent, key, &ctx).unwrap();
    assert_eq!(say(Language::En, "HassTurnOn", None), "Turned on the light");
    assert_eq!(say(Language::De, "HassTurnOn", Some("lights_area")), "Licht eingeschaltet");
    let timer = json!({"slots": {"minutes": "5"}});
    assert_eq!(answers.intent(Language::En, "HassStartTimer", None, &timer).unwrap(), "Timer set for 5 minutes");
    assert_eq!(answers.intent(Language::De, "HassStartTimer", None, &timer).unwrap(), "Timer für 5 Minuten gestartet");
    assert_eq!(say(Language::En, "HassClimateGetTemperature", None), "21.5 degrees");
    let status = say(Language::En, "HassTimerStatus", None);
    assert_eq!(status, "3 minutes and 20 seconds left.");
    assert_eq!(answers.error(Language::En, "no_intent", &json!({})).unwrap(), "Sorry, I couldn't understand that");
}
