//! `hearth intent` as users and scripts call it: the real binary, a config file with
//! `[[entity]]` entries, sentences from arguments and from stdin, `--json` lines with exact
//! topics and payloads, refusals, and the exit codes of CONTRACTS.md §1.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

const CONFIG: &str = r#"
[intent]
language = "en"

[site]
area = "Kitchen"

[[intent.custom]]
name = "GoodNight"
sentences = ["good night"]
topic = "home/goodnight"
payload = "ON"

[[entity]]
name = "Kitchen Light"
area = "Kitchen"
kind = "light"
command_topic = "zigbee2mqtt/Kitchen Light/set"
schema = "json"
brightness_scale = 254

[[entity]]
name = "Coffee Maker"
area = "Kitchen"
kind = "switch"
cmd_t = "cmnd/coffee/POWER"

[[entity]]
name = "Front Door"
area = "Hallway"
kind = "lock"
command_topic = "door/front/set"

[[entity]]
name = "Garage Door"
area = "Garage"
kind = "cover"
device_class = "garage"
command_topic = "garage/set"
"#;

fn hearth(args: &[&str], config: &Path, stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.arg("intent").arg("--config").arg(config).args(args);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("hearth runs");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn config_file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn json_from_stdin_one_line_per_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, CONFIG);
    let input = "Turn on the Kitchen-Light.\n\nSet the kitchen light to 50%.\nUnlock the front door.\nWhat's the weather on Mars?\nturn off the lights\ngood night\n";
    let lines = json_lines(&hearth(&["--json"], &config, Some(input)));
    assert_eq!(lines.len(), 6, "blank lines are skipped, every sentence answered: {lines:#?}");
    assert_eq!(
        lines[0],
        json!({"text": "Turn on the Kitchen-Light.", "intent": {"name": "HassTurnOn", "slots": {"name": "Kitchen Light"}},
               "actions": [{"topic": "zigbee2mqtt/Kitchen Light/set", "payload": "{\"state\":\"ON\"}"}]})
    );
    assert_eq!(
        lines[1]["intent"],
        json!({"name": "HassLightSet", "slots": {"name": "Kitchen Light", "brightness": 50}})
    );
    assert_eq!(
        lines[1]["actions"],
        json!([{"topic": "zigbee2mqtt/Kitchen Light/set", "payload": "{\"state\":\"ON\",\"brightness\":127}"}])
    );
    assert_eq!(lines[2]["intent"]["name"], "HassTurnOff");
    assert_eq!(lines[2]["actions"], json!([]));
    assert!(lines[2]["refused"].as_str().unwrap().contains("allow_unlock"), "{}", lines[2]);
    assert_eq!(lines[3], json!({"text": "What's the weather on Mars?", "intent": null, "actions": []}));
    // No area in the sentence: the satellite's [site] area from the config.
    assert_eq!(lines[4]["intent"]["slots"], json!({"area": "Kitchen", "domain": "light"}));
    assert_eq!(
        lines[4]["actions"],
        json!([{"topic": "zigbee2mqtt/Kitchen Light/set", "payload": "{\"state\":\"OFF\"}"}])
    );
    assert_eq!(lines[5]["intent"], json!({"name": "GoodNight", "slots": {}}));
    assert_eq!(lines[5]["actions"], json!([{"topic": "home/goodnight", "payload": "ON"}]));
    // The key order of the contract: text, intent, actions.
    let raw = String::from_utf8(hearth(&["--json", "turn on the coffee maker"], &config, None).stdout).unwrap();
    assert!(raw.starts_with("{\"text\": \"turn on the coffee maker\", \"intent\": {"), "{raw}");
}

#[test]
fn arguments_area_and_language() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, CONFIG);
    // Unquoted words form one sentence.
    let lines = json_lines(&hearth(&["--json", "turn", "on", "the", "coffee", "maker"], &config, None));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["actions"], json!([{"topic": "cmnd/coffee/POWER", "payload": "ON"}]));
    // Quoted sentences, one each; --area overrides [site] area.
    let lines = json_lines(&hearth(
        &["--json", "--area", "Garage", "turn off the lights", "close the garage door"],
        &config,
        None,
    ));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["intent"], Value::Null, "no lights in the garage");
    assert_eq!(lines[1]["actions"], json!([{"topic": "garage/set", "payload": "CLOSE"}]));
    let lines = json_lines(&hearth(&["--json", "--language", "de", "Öffne das Garagentor."], &config, None));
    assert_eq!(lines[0]["intent"]["name"], "HassTurnOn");
    assert_eq!(lines[0]["actions"], json!([]));
    assert!(lines[0]["refused"].as_str().unwrap().contains("allow_open"));
    // Without --json: one readable line.
    let out = hearth(&["turn on the kitchen light"], &config, None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.contains("HassTurnOn") && text.contains("zigbee2mqtt/Kitchen Light/set"), "{text}");
}

#[test]
fn bad_config_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, "[[intent.custom]]\nname = \"X\"\nsentences = [\"(unclosed\"]\n");
    let out = hearth(&["--json", "hello"], &config, None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("(unclosed") && err.contains("intent.custom"), "{err}");
    let config = config_file(&dir, "[[entity]]\nname = \"Robot\"\nkind = \"vacuum\"\n");
    let out = hearth(&["--json", "hello"], &config, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("entity.kind"));
}
