//! The MQTT bridge against a real Mosquitto (started by each test on a free loopback port) and
//! against the embedded broker: commands arrive exactly as sent, survive a broker restart, expire
//! instead of firing late, credentials and TLS problems are explained, and the satellite
//! announces itself and keeps its Microphone switch.
//!
//! Waits end on events, with generous limits ([`mosquitto::WAIT`]); nothing is asserted on time
//! passing. "Not published" is checked with [`mosquitto::Observer::fence`].

#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::path::PathBuf;
use std::time::Duration;

use hearth::config::MqttSettings;
use hearth::mqtt::{BridgeOptions, DropReason, LinkState, MicState, MqttBridge, MqttError, Outcome};
use mosquitto::{Mosquitto, MosquittoConfig, Observer, TestCa, WAIT, free_port};
use rumqttc::QoS;
use serde_json::Value;

fn settings(port: u16, client_id: &str) -> MqttSettings {
    MqttSettings {
        host: Some("127.0.0.1".into()),
        port,
        username: None,
        password_file: None,
        tls_ca: None,
        tls_cert: None,
        tls_key: None,
        client_id: client_id.into(),
        discovery_prefix: "homeassistant".into(),
    }
}

/// Quick reconnects so broker restarts are noticed fast.
fn options() -> BridgeOptions {
    BridgeOptions { backoff_min: Duration::from_millis(100), backoff_max: Duration::from_secs(1), ..Default::default() }
}

/// A connected bridge whose announcement the broker already has: a command published after it
/// is acknowledged only once everything before it was processed.
async fn start(settings: &MqttSettings, site: &str) -> MqttBridge {
    let bridge = MqttBridge::start(settings, site, options()).await.unwrap();
    bridge.wait_connected(WAIT).await.unwrap();
    assert_eq!(outcome(bridge.publish(format!("test/{site}/settled"), "")).await, Outcome::Published);
    bridge
}

async fn wait_link(bridge: &MqttBridge, want: fn(&LinkState) -> bool) {
    let mut link = bridge.link_state();
    tokio::time::timeout(WAIT, link.wait_for(want)).await.expect("link state not reached in time").unwrap();
}

async fn wait_mic(bridge: &MqttBridge, want: MicState) {
    let mut mic = bridge.mic_state();
    tokio::time::timeout(WAIT, mic.wait_for(|m| *m == want)).await.expect("microphone state not reached").unwrap();
}

async fn outcome(delivery: hearth::mqtt::Delivery) -> Outcome {
    tokio::time::timeout(WAIT, delivery).await.expect("no outcome in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_reaches_a_subscriber_with_exact_topic_payload_and_qos_1() {
    let broker = Mosquitto::start();
    let topic = "zigbee2mqtt/Kitchen Light/set";
    let mut observer = Observer::connect(broker.port(), &[topic]).await;
    let bridge = start(&settings(broker.port(), "hearth-exact"), "exact").await;

    let payload = r#"{"state":"ON","brightness":127}"#;
    assert_eq!(outcome(bridge.publish(topic, payload)).await, Outcome::Published);

    let got = observer.next_on(topic).await;
    assert_eq!(got.topic, topic);
    assert_eq!(&got.payload[..], payload.as_bytes());
    assert_eq!(got.qos, QoS::AtLeastOnce, "subscribed at QoS 1: delivered at QoS 1 only if published at QoS 1");

    // Not retained: a new subscriber gets nothing before its fence.
    let mut late = Observer::connect(broker.port(), &[topic]).await;
    let before = late.fence(topic).await;
    assert!(before.is_empty(), "command was retained: {before:?}");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_queues_the_command_and_delivers_it_once() {
    let mut broker = Mosquitto::start_with(MosquittoConfig { persistence: true, ..Default::default() });
    let topic = "zigbee2mqtt/Hall Lamp/set";
    // A durable observer: the broker keeps its subscription and messages across the restart.
    let mut observer = Observer::connect_as(broker.port(), "restart-observer", false, &[topic]).await;
    let deadline = std::time::Instant::now() + WAIT;
    while !broker.database().exists() {
        assert!(std::time::Instant::now() < deadline, "mosquitto did not save its database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bridge = start(&settings(broker.port(), "hearth-restart"), "restart").await;

    broker.kill();
    wait_link(&bridge, |l| matches!(l, LinkState::Down(_))).await;
    let delivery = bridge.publish_with_max_age(topic, r#"{"state":"OFF"}"#, Duration::from_secs(120));
    broker.restart();

    assert_eq!(outcome(delivery).await, Outcome::Published);
    let mut seen = vec![observer.next_on(topic).await];
    seen.extend(observer.fence(topic).await);
    let commands: Vec<_> = seen.iter().filter(|p| p.topic == topic).collect();
    assert_eq!(commands.len(), 1, "delivered {} times: {seen:?}", commands.len());
    assert_eq!(&commands[0].payload[..], br#"{"state":"OFF"}"#);
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_command_past_its_age_limit_is_reported_expired_and_never_sent() {
    let mut broker = Mosquitto::start_with(MosquittoConfig { persistence: true, ..Default::default() });
    let topic = "zigbee2mqtt/Front Door/set";
    let mut observer = Observer::connect_as(broker.port(), "expiry-observer", false, &[topic]).await;
    let deadline = std::time::Instant::now() + WAIT;
    while !broker.database().exists() {
        assert!(std::time::Instant::now() < deadline, "mosquitto did not save its database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let bridge = start(&settings(broker.port(), "hearth-expiry"), "expiry").await;

    broker.kill();
    wait_link(&bridge, |l| matches!(l, LinkState::Down(_))).await;
    let stale = bridge.publish_with_max_age(topic, "UNLOCK", Duration::from_millis(300));
    match outcome(stale).await {
        Outcome::Expired { waited } => assert!(waited >= Duration::from_millis(300)),
        other => panic!("expected Expired, got {other:?}"),
    }

    broker.restart();
    wait_link(&bridge, |l| *l == LinkState::Connected).await;
    assert_eq!(outcome(bridge.publish(topic, "LOCK")).await, Outcome::Published);
    let first = observer.next_on(topic).await;
    assert_eq!(&first.payload[..], b"LOCK", "the expired UNLOCK must never be sent");
    let rest = observer.fence(topic).await;
    assert!(rest.iter().all(|p| &p.payload[..] != b"UNLOCK"), "{rest:?}");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_outage_queue_drops_the_oldest_command_and_says_so() {
    let port = free_port(); // nothing listens here
    let options = BridgeOptions { queue_capacity: 2, ..options() };
    let bridge = MqttBridge::start(&settings(port, "hearth-full"), "full", options).await.unwrap();
    let oldest = bridge.publish("a/b", "1");
    let second = bridge.publish("a/b", "2");
    let newest = bridge.publish("a/b", "3");
    assert_eq!(outcome(oldest).await, Outcome::Dropped(DropReason::QueueFull));
    bridge.shutdown().await;
    assert_eq!(outcome(second).await, Outcome::Dropped(DropReason::Shutdown));
    assert_eq!(outcome(newest).await, Outcome::Dropped(DropReason::Shutdown));
    assert_eq!(outcome(bridge.publish("a/b", "4")).await, Outcome::Dropped(DropReason::Shutdown));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_a_clear_error_and_the_right_one_connects() {
    let broker = Mosquitto::start_with(MosquittoConfig {
        user: Some(("hearth".into(), "correct horse".into())),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "battery staple\n").unwrap();
    let right = dir.path().join("right");
    std::fs::write(&right, "correct horse\n").unwrap();

    let mut s = settings(broker.port(), "hearth-auth");
    s.username = Some("hearth".into());
    s.password_file = Some(wrong);
    let bridge = MqttBridge::start(&s, "auth", options()).await.unwrap();
    let err = bridge.wait_connected(WAIT).await.unwrap_err();
    assert!(matches!(err, MqttError::NotAuthorized { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{}", broker.port())), "{text}");
    assert!(text.contains("refused the login"), "{text}");
    assert!(text.contains("check [mqtt] username and password_file"), "{text}");
    bridge.shutdown().await;

    s.password_file = Some(right);
    start(&s, "auth").await.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_broker_listening_names_host_and_port() {
    let port = free_port();
    let bridge = MqttBridge::start(&settings(port, "hearth-refused"), "refused", options()).await.unwrap();
    let text = bridge.wait_connected(WAIT).await.unwrap_err().to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("is the broker running?"), "{text}");
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::generate(dir.path(), "broker");
    let broker = Mosquitto::start_with(MosquittoConfig { tls: Some(ca.clone()), ..Default::default() });
    let topic = "tasmota/cmnd/plug/POWER";
    let mut observer = Observer::connect(broker.plain_port(), &[topic]).await;

    let mut s = settings(broker.port(), "hearth-tls");
    s.tls_ca = Some(ca.ca_cert.clone());
    let bridge = start(&s, "tls").await;
    assert_eq!(outcome(bridge.publish(topic, "ON")).await, Outcome::Published);
    let got = observer.next_on(topic).await;
    assert_eq!(&got.payload[..], b"ON");
    bridge.shutdown().await;

    // A CA that did not sign the broker's certificate: a TLS error naming the fix.
    let other = TestCa::generate(dir.path(), "other");
    s.tls_ca = Some(other.ca_cert);
    let bridge = MqttBridge::start(&s, "tls", options()).await.unwrap();
    let err = bridge.wait_connected(WAIT).await.unwrap_err();
    assert!(matches!(err, MqttError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("tls_ca"), "{err}");
    bridge.shutdown().await;

    // A missing CA file is a configuration error at start.
    s.tls_ca = Some(PathBuf::from("/nonexistent/ca.crt"));
    let err = MqttBridge::start(&s, "tls", options()).await.unwrap_err();
    assert!(err.to_string().contains("/nonexistent/ca.crt"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_assistant_birth_makes_the_satellite_announce_itself_again() {
    let broker = Mosquitto::start();
    let config_topic = "homeassistant/device/hearth_birth/config";
    let bridge = start(&settings(broker.port(), "hearth-birth"), "birth").await;

    let mut observer = Observer::connect(broker.port(), &[config_topic, "hearth/birth/status"]).await;
    let retained = observer.next_on(config_topic).await;
    assert!(retained.retain, "the discovery config must be retained");
    let config: Value = serde_json::from_slice(&retained.payload).unwrap();
    assert_eq!(config["dev"]["ids"][0], "hearth_birth");
    assert_eq!(config["avty_t"], "hearth/birth/status");
    assert_eq!(config["cmps"]["microphone"]["cmd_t"], "hearth/birth/mic/set");
    let status = observer.next_on("hearth/birth/status").await;
    assert_eq!((&status.payload[..], status.retain), (&b"online"[..], true));

    observer.publish("homeassistant/status", "online", false).await;
    let again = observer.next_on(config_topic).await;
    assert!(!again.retain, "a live re-announcement, not the retained copy");
    assert_eq!(again.payload, retained.payload);

    // Graceful shutdown says offline (a clean disconnect would suppress the last will).
    bridge.shutdown().await;
    while &observer.next_on("hearth/birth/status").await.payload[..] != b"offline" {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_will_marks_a_vanished_satellite_offline() {
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &["hearth/will/status"]).await;
    let s = settings(broker.port(), "hearth-will");
    // The bridge runs on a runtime of its own; dropping that runtime closes the connection
    // without DISCONNECT, as a crash or power cut would.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let bridge = start(&s, "will").await;
            std::mem::forget(bridge);
        });
        runtime.shutdown_background();
    })
    .join()
    .unwrap();
    assert_eq!(&observer.next_on("hearth/will/status").await.payload[..], b"online");
    assert_eq!(&observer.next_on("hearth/will/status").await.payload[..], b"offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microphone_switch_round_trip_and_state_survives_restart() {
    let broker = Mosquitto::start();
    let s = settings(broker.port(), "hearth-mic");
    let bridge = start(&s, "mic").await;
    // Nothing retained yet: the microphone comes up on and says so.
    wait_mic(&bridge, MicState::On).await;

    let mut observer = Observer::connect(broker.port(), &["hearth/mic/mic/state"]).await;
    assert_eq!(&observer.next_on("hearth/mic/mic/state").await.payload[..], b"ON");
    observer.publish("hearth/mic/mic/set", "OFF", false).await;
    wait_mic(&bridge, MicState::Off).await;
    assert_eq!(&observer.next_on("hearth/mic/mic/state").await.payload[..], b"OFF");
    let mut late = Observer::connect(broker.port(), &["hearth/mic/mic/state"]).await;
    let retained = late.next().await;
    assert_eq!((&retained.payload[..], retained.retain), (&b"OFF"[..], true));
    bridge.shutdown().await;

    // A new instance reads the retained state before deciding: it starts muted.
    let again = MqttBridge::start(&s, "mic", options()).await.unwrap();
    let mut mic = again.mic_state();
    let first_known = tokio::time::timeout(WAIT, mic.wait_for(|m| *m != MicState::Unknown)).await.unwrap().unwrap();
    assert_eq!(*first_known, MicState::Off);
    drop(first_known);
    // Its subscription to the switch's command topic was made before this is acknowledged.
    assert_eq!(outcome(again.publish("test/mic/settled", "")).await, Outcome::Published);

    observer.publish("hearth/mic/mic/set", "on", false).await;
    wait_mic(&again, MicState::On).await;
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_deliver_retained_messages_and_come_back_after_a_restart() {
    let mut broker = Mosquitto::start();
    let bridge = start(&settings(broker.port(), "hearth-subs"), "subs").await;
    let mut publisher = Observer::connect(broker.port(), &[]).await;
    publisher.publish("homeassistant/light/kitchen/config", r#"{"name":"Kitchen"}"#, true).await;

    // The bridge's own device config matches the filter too; look for the kitchen light.
    let mut discovery = bridge.subscribe("homeassistant/+/+/config").unwrap();
    let msg = loop {
        let msg = tokio::time::timeout(WAIT, discovery.recv()).await.unwrap().unwrap();
        if msg.topic == "homeassistant/light/kitchen/config" {
            break msg;
        }
    };
    assert_eq!(msg.payload, br#"{"name":"Kitchen"}"#);
    assert!(msg.retained);

    broker.restart();
    wait_link(&bridge, |l| *l == LinkState::Connected).await;
    // The bridge subscribed again before publishing this probe, so the probe comes back.
    assert_eq!(outcome(bridge.publish("homeassistant/sensor/probe/config", "{}")).await, Outcome::Published);
    loop {
        let msg = tokio::time::timeout(WAIT, discovery.recv()).await.unwrap().unwrap();
        if msg.topic == "homeassistant/sensor/probe/config" {
            break;
        }
    }
    let mut publisher = Observer::connect(broker.port(), &[]).await;
    publisher.publish("homeassistant/switch/fan/config", r#"{"name":"Fan"}"#, false).await;
    loop {
        let msg = tokio::time::timeout(WAIT, discovery.recv()).await.unwrap().unwrap();
        if msg.topic == "homeassistant/switch/fan/config" {
            assert!(!msg.retained);
            break;
        }
    }
    assert!(matches!(bridge.subscribe("bad/#/filter"), Err(MqttError::InvalidTopic { .. })));
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_carries_commands_with_nothing_installed() {
    let port = free_port();
    let mut s = settings(port, "hearth-embedded");
    s.host = None;
    let bridge = start(&s, "embedded").await;
    let topic = "zigbee2mqtt/Desk Lamp/set";
    let mut observer = Observer::connect(port, &[topic]).await;
    assert_eq!(outcome(bridge.publish(topic, r#"{"state":"ON"}"#)).await, Outcome::Published);
    let got = observer.next_on(topic).await;
    assert_eq!(&got.payload[..], br#"{"state":"ON"}"#);
    assert_eq!(got.qos, QoS::AtLeastOnce);
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_explains_a_taken_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut s = settings(port, "hearth-taken");
    s.host = None;
    let err = MqttBridge::start(&s, "taken", options()).await.unwrap_err();
    assert_eq!(err, MqttError::PortInUse { addr: ([127, 0, 0, 1], port).into() });
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port} is in use")), "{text}");
    assert!(text.contains("is Mosquitto already running?"), "{text}");
    assert!(text.contains(r#"set [mqtt] host = "127.0.0.1" to use it"#), "{text}");
}

/// Issue 18, case 2: a command topic the broker would refuse (301 levels, U+0000) fails alone,
/// at once, with its reason; the connection stays up (the broker saw one connection), so the
/// next command is not held back by reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_the_broker_would_refuse_fails_only_its_own_command() {
    let broker = Mosquitto::start();
    let bridge = start(&settings(broker.port(), "hearth-topics"), "topics").await;
    let mut observer = Observer::connect(broker.port(), &["good/#"]).await;
    let deep = format!("deep{}", "/x".repeat(300));
    for (topic, rule) in [(deep.as_str(), "levels"), ("bad\u{0}topic", "U+0000"), ("bad/+/set", "wildcard")] {
        match outcome(bridge.publish(topic, "ON")).await {
            Outcome::Dropped(reason @ DropReason::InvalidTopic(_)) => {
                assert!(reason.to_string().contains(rule), "{topic:?}: {reason}")
            }
            other => panic!("{topic:?}: {other:?}"),
        }
    }
    assert_eq!(outcome(bridge.publish("good/light/set", "ON")).await, Outcome::Published);
    assert_eq!(&observer.next_on("good/light/set").await.payload[..], b"ON");
    assert_eq!(*bridge.link_state().borrow(), LinkState::Connected, "the connection never dropped");
    let log = broker.log();
    assert_eq!(log.matches("New client connected").count(), 2, "bridge and observer, once each:\n{log}");
    bridge.shutdown().await;
}
