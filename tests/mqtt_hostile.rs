//! Issue 18, cases 1–3, through the `hearth` binary against a real mosquitto: an oversized
//! retained discovery config, a discovered command topic the broker would refuse, and a home
//! of 5,000 retained configs. What reached the devices is proved by an observer subscribed to
//! every device topic ([`Observer::fence`]); what Hearth knows, by `hearth devices`.

#[path = "support/mosquitto.rs"]
mod mosquitto;

use std::process::Output;
use std::time::Instant;

use mosquitto::{Mosquitto, Observer, hearth_with_config, retain};
use serde_json::{Value, json};

/// The ordinary part of the home: the kitchen light and 29 lamps, each its own topic.
fn ordinary_home() -> Vec<(String, String)> {
    let mut configs = vec![(
        "homeassistant/light/kitchen/config".to_string(),
        json!({"name": "Kitchen Light", "uniq_id": "kitchen", "cmd_t": "light/kitchen/set"}).to_string(),
    )];
    for n in 1..30 {
        configs.push((
            format!("homeassistant/switch/lamp{n}/config"),
            json!({"name": format!("Lamp {n}"), "uniq_id": format!("lamp{n}"), "cmd_t": format!("light/lamp{n}/set")})
                .to_string(),
        ));
    }
    configs
}

/// Runs `hearth ARGS` with a config for the broker on `port`.
async fn hearth(port: u16, args: &[&str]) -> Output {
    let config = format!("[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n[site]\nid = \"hall\"\n");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hearth_with_config(&config, &args)
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `hearth devices`: its lines, after checking it succeeded.
async fn devices(port: u16) -> (Vec<String>, String) {
    let out = hearth(port, &["devices"]).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "hearth devices failed:\n{stderr}");
    (text(&out.stdout).lines().map(str::to_string).collect(), stderr)
}

/// `hearth intent --execute --json SENTENCE`: its exit status and result line.
async fn execute(port: u16, sentence: &str) -> (bool, Value, String) {
    let out = hearth(port, &["intent", "--execute", "--json", sentence]).await;
    let stdout = text(&out.stdout);
    let result = stdout.lines().next().and_then(|l| serde_json::from_str(l).ok()).unwrap_or(Value::Null);
    (out.status.success(), result, text(&out.stderr))
}

/// The topics that received something since the last fence, with their payloads.
async fn delivered(observer: &mut Observer) -> Vec<(String, String)> {
    observer
        .fence("light/fence")
        .await
        .iter()
        .map(|p| (p.topic.to_string(), String::from_utf8_lossy(&p.payload).into_owned()))
        .collect()
}

/// Case 1: a 300 KB retained config used to drop the connection on every attempt, so one
/// command reached the device 59 times and was reported unsent. Now it is read like any
/// other, the command arrives once, and the whole home is known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue18_case1_a_300_kb_retained_config_costs_no_command_and_no_device() {
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &["light/#"]).await;
    let mut home = ordinary_home();
    let big = json!({"name": "Big Light", "uniq_id": "big", "cmd_t": "light/big/set", "notes": "x".repeat(300_000)});
    home.insert(10, ("homeassistant/light/big/config".to_string(), big.to_string()));
    retain(broker.port(), &home).await;

    let (lines, stderr) = devices(broker.port()).await;
    assert_eq!(lines.len(), 31, "every entity, the big one too:\n{}\n{stderr}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.starts_with("Big Light\t")), "{lines:?}");

    let (ok, result, stderr) = execute(broker.port(), "turn on the kitchen light").await;
    assert!(ok, "{result}\n{stderr}");
    assert_eq!(delivered(&mut observer).await, [("light/kitchen/set".to_string(), "ON".to_string())]);
    let log = broker.log();
    let hearth_connections = log.matches("as hearth-hall").count();
    assert_eq!(hearth_connections, 2, "devices and intent connected once each, never again:\n{log}");
}

/// Case 1, beyond Hearth's limit (16 MiB): a 20 MB retained message cannot be read, so
/// `devices` fails naming the size and how to remove it instead of listing part of the home,
/// and a command is still sent at most once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue18_case1_a_retained_message_beyond_the_limit_is_an_error_not_a_partial_home() {
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &["light/#"]).await;
    let mut home = ordinary_home();
    home.push(("homeassistant/light/huge/config".to_string(), "y".repeat(20_000_000)));
    retain(broker.port(), &home).await;

    let out = hearth(broker.port(), &["devices"]).await;
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "devices listed a partial home:\n{}", text(&out.stdout));
    assert!(stderr.contains("20000") && stderr.contains("mosquitto_pub -r -n -t"), "{stderr}");

    let (ok, result, stderr) = execute(broker.port(), "turn on the kitchen light").await;
    let got = delivered(&mut observer).await;
    assert!(got.len() <= 1, "sent more than once: {got:?}\n{stderr}");
    assert!(!ok || got.len() == 1, "reported done but nothing arrived: {result}\n{stderr}");
}

/// Case 2: a discovered device whose command topic the broker refuses (301 levels) fails with
/// the reason; the connection stays up and the next command is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue18_case2_a_refused_command_topic_fails_only_its_own_command() {
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &["light/#"]).await;
    let deep = format!("light/deep{}", "/x".repeat(300));
    let mut home = ordinary_home();
    home.push((
        "homeassistant/light/deep/config".to_string(),
        json!({"name": "Deep Light", "uniq_id": "deep", "cmd_t": deep}).to_string(),
    ));
    retain(broker.port(), &home).await;

    let (ok, result, stderr) = execute(broker.port(), "turn on the deep light").await;
    assert!(!ok, "a refused topic is a failed command: {result}");
    assert!(stderr.contains("levels"), "the reason is given:\n{stderr}");
    assert_eq!(delivered(&mut observer).await, []);
    let (ok, result, stderr) = execute(broker.port(), "turn on the kitchen light").await;
    assert!(ok, "{result}\n{stderr}");
    assert_eq!(delivered(&mut observer).await, [("light/kitchen/set".to_string(), "ON".to_string())]);
    let log = broker.log();
    assert_eq!(log.matches("as hearth-hall").count(), 2, "one connection per run:\n{log}");
}

/// Case 3: 5,000 retained configs on a default mosquitto (whose `max_queued_messages` of 1,000
/// used to cut a QoS 1 subscription short, silently) are all known.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue18_case3_five_thousand_retained_configs_are_all_known() {
    let broker = Mosquitto::start();
    let home: Vec<(String, String)> = (0..5_000)
        .map(|n| {
            let config = json!({
                "name": format!("Plug {n}"),
                "uniq_id": format!("plug{n}"),
                "cmd_t": format!("plugs/{n}/set"),
                "dev": {"ids": [format!("plug{n}")], "name": format!("Plug {n}"), "mf": "Test", "mdl": "P1"},
            });
            (format!("homeassistant/switch/plug{n}/config"), config.to_string())
        })
        .collect();
    retain(broker.port(), &home).await;

    let started = Instant::now();
    let (lines, stderr) = devices(broker.port()).await;
    eprintln!("hearth devices read {} entities in {:.2} s", lines.len(), started.elapsed().as_secs_f64());
    assert_eq!(lines.len(), 5_000, "{stderr}");
    assert!(!stderr.contains("lost") && !stderr.contains("WARN"), "{stderr}");
}
