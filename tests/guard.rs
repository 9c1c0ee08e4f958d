//! Issue 18, cases 7 and 8, against a real mosquitto through `hearth intent --execute`: the
//! unlock/open guard follows entities and effects, not names and payload text, and a look-alike
//! name with invisible characters does not capture plain speech. Devices come from retained
//! discovery configs, as a hostile or careless home would announce them; a subscriber on every
//! device topic proves what was (and was not) sent.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use mosquitto::{Mosquitto, Observer, hearth_with_config};
use serde_json::Value;

/// The home: the real front door lock, a look-alike lock with the same name, a lock whose
/// "lock" payload is UNLOCK, a gate whose "close" payload is OPEN, a light with a zero-width
/// space in its name and the real light, and a switch that publishes UNLOCK to the real lock.
const DISCOVERY: &[(&str, &str)] = &[
    ("homeassistant/lock/front/config", r#"{"name":"Front Door","uniq_id":"lock_front_1","cmd_t":"door/front/set"}"#),
    ("homeassistant/lock/fake/config", r#"{"name":"Front Door","uniq_id":"lock_fake_2","cmd_t":"door/fake/set"}"#),
    (
        "homeassistant/lock/back/config",
        r#"{"name":"Back Door","uniq_id":"lock_back","cmd_t":"door/back/set","pl_lock":"UNLOCK"}"#,
    ),
    (
        "homeassistant/cover/gate/config",
        r#"{"name":"Gate","uniq_id":"gate1","cmd_t":"gate/set","dev_cla":"gate","pl_cls":"OPEN"}"#,
    ),
    (
        "homeassistant/light/fake/config",
        r#"{"name":"Kitchen\u200b Light","uniq_id":"light_fake","cmd_t":"light/fake/set"}"#,
    ),
    ("homeassistant/light/real/config", r#"{"name":"Kitchen Light","uniq_id":"light_real","cmd_t":"light/real/set"}"#),
    (
        "homeassistant/switch/porch/config",
        r#"{"name":"Porch Switch","uniq_id":"porch","cmd_t":"door/front/set","pl_on":"UNLOCK"}"#,
    ),
];

/// Every device topic, and the fence topic.
const FILTERS: &[&str] = &["door/#", "gate/#", "light/#"];
const FENCE: &str = "light/fence";

fn config(port: u16, intent: &str) -> String {
    format!("[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n[site]\nid = \"hall\"\n[intent]\n{intent}\n")
}

/// Runs `hearth intent --execute --json` with `config` and returns its result line.
async fn execute(config: String, sentence: &str) -> Value {
    let sentence = sentence.to_string();
    let out =
        tokio::task::spawn_blocking(move || hearth_with_config(&config, &["intent", "--execute", "--json", &sentence]))
            .await
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// What reached the device topics since the last call.
async fn sent(observer: &mut Observer) -> Vec<(String, String)> {
    observer
        .fence(FENCE)
        .await
        .iter()
        .map(|p| (p.topic.to_string(), String::from_utf8_lossy(&p.payload).into_owned()))
        .collect()
}

fn refused(result: &Value) -> &str {
    result["refused"].as_str().unwrap_or_else(|| panic!("no refusal: {result}"))
}

async fn home() -> (Mosquitto, Observer) {
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    for (topic, payload) in DISCOVERY {
        observer.publish(topic, payload, true).await;
    }
    (broker, observer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_look_alike_lock_is_refused_and_the_allowed_one_unlocks_by_id() {
    let (broker, mut observer) = home().await;

    // The allow-list names the real lock by its unique id: only it unlocks.
    let by_id = config(broker.port(), r#"allow_unlock = ["lock_front_1"]"#);
    let result = execute(by_id, "unlock the front door").await;
    assert_eq!(sent(&mut observer).await, [("door/front/set".to_string(), "UNLOCK".to_string())]);
    let why = refused(&result);
    assert!(why.contains("lock_fake_2") && why.contains("off"), "{why}");

    // The allow-list names "Front Door", which two locks have: neither unlocks, and it says why.
    let by_name = config(broker.port(), r#"allow_unlock = ["Front Door"]"#);
    let result = execute(by_name, "unlock the front door").await;
    assert_eq!(sent(&mut observer).await, [], "{result}");
    let why = refused(&result);
    assert!(
        why.contains("names 2 locks") && why.contains(r#""lock_front_1", "lock_fake_2""#) && why.contains("by its id"),
        "{why}"
    );
    assert_eq!(result["actions"], serde_json::json!([]));

    // Locking is no guarded action: both doors that answer to the name get LOCK.
    let result = execute(config(broker.port(), ""), "lock the front door").await;
    let mut got = sent(&mut observer).await;
    got.sort();
    assert_eq!(
        got,
        [("door/fake/set".to_string(), "LOCK".to_string()), ("door/front/set".to_string(), "LOCK".to_string())],
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_payload_swaps_and_foreign_unlock_messages_are_refused() {
    let (broker, mut observer) = home().await;
    // Even with everything allowed that can be, a swapped payload does not slip through.
    let allowed = config(broker.port(), r#"allow_unlock = ["lock_back"]"#);
    for (sentence, settings) in [
        ("lock the back door", config(broker.port(), "")),
        ("lock the back door", allowed.clone()),
        ("close the gate", config(broker.port(), "")),
        ("turn on the porch switch", config(broker.port(), "")),
    ] {
        let result = execute(settings, sentence).await;
        assert_eq!(sent(&mut observer).await, [], "{sentence}: {result}");
        let why = refused(&result);
        assert!(why.contains("discovery config"), "{sentence}: {why}");
    }
    // The porch switch's OFF is harmless and goes out.
    execute(config(broker.port(), ""), "turn off the porch switch").await;
    assert_eq!(sent(&mut observer).await, [("door/front/set".to_string(), "OFF".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_zero_width_look_alike_does_not_capture_kitchen_light() {
    let (broker, mut observer) = home().await;
    for sentence in ["turn on the kitchen light", "turn off the kitchen light"] {
        let result = execute(config(broker.port(), ""), sentence).await;
        let payload = if sentence.contains(" on ") { "ON" } else { "OFF" };
        assert_eq!(sent(&mut observer).await, [("light/real/set".to_string(), payload.to_string())], "{result}");
        assert_eq!(result["intent"]["slots"]["name"], "Kitchen Light");
    }
    // Without the real light, the look-alike is the only candidate and answers.
    observer.publish("homeassistant/light/real/config", "", true).await;
    execute(config(broker.port(), ""), "turn on the kitchen light").await;
    assert_eq!(sent(&mut observer).await, [("light/fake/set".to_string(), "ON".to_string())]);
}
