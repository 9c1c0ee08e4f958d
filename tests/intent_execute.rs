//! `hearth intent --execute` against a real mosquitto on a free loopback port: the recognised
//! command reaches the device's command topic with the exact payload, the intent event reaches
//! `hearth/<site>/intent` without the spoken text (default retention), and an unreachable broker
//! is a clear error, not a silent loss.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use mosquitto::{Mosquitto, Observer, TASMOTA_DESK_PLUG, Z2M_SOFA_LAMP, free_port, hearth_with_config};
use serde_json::Value;

fn config(port: u16) -> String {
    format!(
        r#"
[mqtt]
host = "127.0.0.1"
port = {port}
[site]
id = "kitchen"
area = "Kitchen"
[[entity]]
name = "Kitchen Light"
area = "Kitchen"
kind = "light"
command_topic = "zigbee2mqtt/Kitchen Light/set"
schema = "json"
brightness_scale = 254
"#
    )
}

fn hearth_intent(config: &str, sentence: &str) -> std::process::Output {
    hearth_with_config(config, &["intent", "--execute", "--json", sentence])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_publishes_the_command_and_the_intent_event() {
    let broker = Mosquitto::start();
    let command_topic = "zigbee2mqtt/Kitchen Light/set";
    let mut observer = Observer::connect(broker.port(), &[command_topic, "hearth/kitchen/intent"]).await;
    let config = config(broker.port());
    let out =
        tokio::task::spawn_blocking(move || hearth_intent(&config, "Set the kitchen light to 50%.")).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let command = observer.next_on(command_topic).await;
    let payload: Value = serde_json::from_slice(&command.payload).unwrap();
    assert_eq!(payload, serde_json::json!({"state": "ON", "brightness": 127}));

    let event = observer.next_on("hearth/kitchen/intent").await;
    let event: Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(event["intent"]["name"], "HassLightSet");
    assert_eq!(event["intent"]["slots"]["brightness"], 50);
    assert_eq!(event["site"], "kitchen");
    assert!(event.get("text").is_none(), "transcripts are discarded by default: {event}");
}

#[test]
fn execute_without_a_broker_names_host_and_port() {
    let port = free_port();
    let out = hearth_intent(&config(port), "turn on the kitchen light");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_lists_retained_discovery_configs_and_skips_malformed_ones() {
    let broker = Mosquitto::start();
    let mut publisher = Observer::connect(broker.port(), &[]).await;
    publisher.publish("homeassistant/light/0x0017/light/config", Z2M_SOFA_LAMP, true).await;
    publisher.publish("homeassistant/device/plug1/config", TASMOTA_DESK_PLUG, true).await;
    publisher.publish("homeassistant/switch/broken/config", "{not json", true).await;

    let config = config(broker.port());
    let out = tokio::task::spawn_blocking(move || hearth_with_config(&config, &["devices"])).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"Kitchen Light\tKitchen\tlight\tzigbee2mqtt/Kitchen Light/set"), "{stdout}");
    assert!(lines.contains(&"Sofa Lamp\tLiving Room\tlight\tzigbee2mqtt/Sofa Lamp/set"), "{stdout}");
    assert!(lines.contains(&"Desk Plug\tOffice\tswitch\ttasmota/plug1/cmnd/POWER"), "{stdout}");
    assert_eq!(lines.len(), 3, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("homeassistant/switch/broken/config"), "malformed config is reported: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_drives_devices_learned_from_discovery() {
    let broker = Mosquitto::start();
    let mut observer =
        Observer::connect(broker.port(), &["zigbee2mqtt/Sofa Lamp/set", "tasmota/plug1/cmnd/POWER"]).await;
    observer.publish("homeassistant/light/0x0017/light/config", Z2M_SOFA_LAMP, true).await;
    observer.publish("homeassistant/device/plug1/config", TASMOTA_DESK_PLUG, true).await;

    let first = config(broker.port());
    let out =
        tokio::task::spawn_blocking(move || hearth_intent(&first, "Dim the sofa lamp to 30 percent")).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let light = observer.next_on("zigbee2mqtt/Sofa Lamp/set").await;
    let payload: Value = serde_json::from_slice(&light.payload).unwrap();
    assert_eq!(payload, serde_json::json!({"state": "ON", "brightness": 76}), "30% of 254, rounded as HA does");

    let settings = config(broker.port());
    let out = tokio::task::spawn_blocking(move || hearth_intent(&settings, "turn off the desk plug")).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let plug = observer.next_on("tasmota/plug1/cmnd/POWER").await;
    assert_eq!(&plug.payload[..], b"OFF");
}

/// Every kind of device, as zigbee2mqtt, Tasmota and hand-written configs announce them
/// (abbreviated keys, `~`, Home Assistant defaults for absent payloads), retained on the broker;
/// `hearth intent --execute` then publishes exactly what Home Assistant would for each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_publishes_exact_payloads_for_every_kind() {
    let configs = [
        // Tasmota dimmer, default schema, abbreviated, `~`, brightness 0–100 sent alone.
        (
            "homeassistant/light/bulb1/config",
            r#"{"~":"tasmota/bulb1/","name":null,"uniq_id":"bulb1","cmd_t":"~cmnd/POWER","pl_on":"ON","pl_off":"OFF",
                "bri_cmd_t":"~cmnd/Dimmer","bri_scl":100,"on_cmd_type":"brightness",
                "dev":{"ids":["bulb1"],"name":"Hall Light","sa":"Hallway"}}"#,
        ),
        (
            "homeassistant/fan/fan1/config",
            r#"{"name":"Ceiling Fan","uniq_id":"fan1","cmd_t":"fan/ceiling/set","pct_cmd_t":"fan/ceiling/pct"}"#,
        ),
        (
            "homeassistant/cover/blind1/config",
            r#"{"name":"Bedroom Blinds","uniq_id":"blind1","cmd_t":"blinds/bedroom/set","set_pos_t":"blinds/bedroom/position"}"#,
        ),
        (
            "homeassistant/climate/thermo1/config",
            r#"{"name":"Thermostat","uniq_id":"thermo1","temp_cmd_t":"heating/target/set","mode_cmd_t":"heating/mode/set","modes":["off","heat"]}"#,
        ),
        ("homeassistant/lock/lock1/config", r#"{"name":"Front Door","uniq_id":"lock1","cmd_t":"door/front/set"}"#),
        (
            "homeassistant/scene/scene1/config",
            r#"{"name":"Movie Night","uniq_id":"scene1","cmd_t":"scenes/movie/set","pl_on":"ACTIVATE"}"#,
        ),
    ];
    let expected: &[(&str, &str, &str)] = &[
        ("set the hall light to 40 percent", "tasmota/bulb1/cmnd/Dimmer", "40"),
        ("turn off the hall light", "tasmota/bulb1/cmnd/POWER", "OFF"),
        ("turn on the ceiling fan", "fan/ceiling/set", "ON"),
        ("set the ceiling fan to 30 percent", "fan/ceiling/pct", "30"),
        ("close the bedroom blinds", "blinds/bedroom/set", "CLOSE"),
        ("set the bedroom blinds to 25 percent", "blinds/bedroom/position", "25"),
        ("set the thermostat to 21 degrees", "heating/target/set", "21.0"),
        ("lock the front door", "door/front/set", "LOCK"),
        ("activate movie night", "scenes/movie/set", "ACTIVATE"),
    ];
    let broker = Mosquitto::start();
    let filters = ["tasmota/#", "fan/#", "blinds/#", "heating/#", "door/#", "scenes/#"];
    let mut observer = Observer::connect(broker.port(), &filters).await;
    for (topic, payload) in configs {
        observer.publish(topic, payload, true).await;
    }
    for (sentence, topic, payload) in expected {
        let config = config(broker.port());
        let said = sentence.to_string();
        let out = tokio::task::spawn_blocking(move || hearth_intent(&config, &said)).await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let seen = observer.fence("scenes/fence").await;
        let got: Vec<(String, String)> =
            seen.iter().map(|p| (p.topic.to_string(), String::from_utf8_lossy(&p.payload).into_owned())).collect();
        assert_eq!(got, [(topic.to_string(), payload.to_string())], "{sentence:?}");
    }
}
