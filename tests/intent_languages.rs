//! `[intent] language` beyond English and German, and `[intent] custom_sentences`, through the
//! real binary with Home Assistant's pinned sentence data: a French home is understood from
//! the data alone (digits for numbers), Home Assistant custom sentence files add phrasings and
//! response keys on top, and mistakes in either name the file and the fix (exit 2).

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn config(dir: &Path, language: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[intent]
language = "{language}"
data = "{data}"
{extra}
[site]
area = "Cuisine"
[[area]]
name = "Cuisine"
floor = "Rez-de-chaussée"
[[entity]]
name = "Lampe de la cuisine"
area = "Cuisine"
kind = "light"
command_topic = "z2m/lampe/set"
schema = "json"
"#,
        data = support::intents_data().display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hearth(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth")).arg("intent").arg("--config").arg(config).args(args).output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
#[ignore = "needs the test environment (the sentence data): run scripts/test"]
fn french_from_the_data_alone() {
    let dir = support::tempdir();
    let config = config(dir.path(), "fr", "");
    let got = lines(&hearth(
        &config,
        &[
            "--json",
            "Allume la lampe de la cuisine.",
            "éteins la lumière",
            "Règle la lampe de la cuisine à 50 %",
            "allume la lumière au rez-de-chaussée",
            "raconte-moi une blague",
        ],
    ));
    let intent = |i: usize| (got[i]["intent"]["name"].clone(), got[i]["intent"]["slots"].clone());
    assert_eq!(intent(0), (json!("HassTurnOn"), json!({"name": "Lampe de la cuisine"})));
    assert_eq!(got[0]["actions"], json!([{"topic": "z2m/lampe/set", "payload": "{\"state\":\"ON\"}"}]));
    assert_eq!(got[0]["response"], json!("default"));
    // The satellite's area (Cuisine) for a sentence without one.
    assert_eq!(intent(1), (json!("HassTurnOff"), json!({"area": "Cuisine", "domain": "light"})));
    assert_eq!(intent(2), (json!("HassLightSet"), json!({"brightness": 50, "name": "Lampe de la cuisine"})));
    assert_eq!(got[2]["actions"][0]["payload"], json!("{\"state\":\"ON\",\"brightness\":128}"));
    assert_eq!(intent(3), (json!("HassTurnOn"), json!({"domain": "light", "floor": "Rez-de-chaussée"})));
    assert_eq!(got[4]["intent"], Value::Null);
    assert_eq!(got[4]["actions"], json!([]));
}

#[test]
#[ignore = "needs the test environment (the sentence data): run scripts/test"]
fn custom_sentence_files_add_phrasings_in_their_language() {
    let dir = support::tempdir();
    let custom = dir.path().join("custom_sentences");
    for language in ["fr", "en"] {
        std::fs::create_dir_all(custom.join(language)).unwrap();
    }
    std::fs::write(
        custom.join("fr/maison.yaml"),
        "language: fr\nintents:\n  HassTurnOn:\n    data:\n      - sentences:\n          - \"fais la lumière [dans] [la] {area}\"\n        \
         slots:\n          domain: light\n        response: lumiere\nresponses:\n  intents:\n    HassTurnOn:\n      lumiere: \"Et la lumière fut\"\n",
    )
    .unwrap();
    std::fs::write(
        custom.join("en/mine.yaml"),
        "language: en\nintents:\n  HassTurnOn:\n    data:\n      - sentences:\n          - \"let there be light in [the] {area}\"\n        \
         slots:\n          domain: light\n",
    )
    .unwrap();
    let config = config(dir.path(), "fr", "custom_sentences = \"custom_sentences\"");
    let got =
        lines(&hearth(&config, &["--json", "Fais la lumière dans la cuisine !", "let there be light in the cuisine"]));
    assert_eq!(got[0]["intent"], json!({"name": "HassTurnOn", "slots": {"area": "Cuisine", "domain": "light"}}));
    assert_eq!(got[0]["actions"].as_array().map(Vec::len), Some(1));
    assert_eq!(got[0]["response"], json!("lumiere"));
    assert_eq!(got[1]["intent"], Value::Null, "English custom sentences are not French");
    // --language loads that language's data and custom sentences.
    let got = lines(&hearth(&config, &["--json", "--language", "en", "let there be light in the cuisine"]));
    assert_eq!(got[0]["intent"]["name"], json!("HassTurnOn"));
    assert_eq!(got[0]["response"], json!("default"));

    std::fs::write(custom.join("fr/cassé.yaml"), "language: fr\nintents: [oops\n").unwrap();
    let out = hearth(&config, &["x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("intent.custom_sentences") && err.contains("cassé.yaml") && err.contains("line 3"), "{err}");
    std::fs::write(
        custom.join("fr/cassé.yaml"),
        "language: fr\nintents:\n  HassTurnOn:\n    data:\n      - sentences: [\"(ouvre\"]\n",
    )
    .unwrap();
    let err = stderr(&hearth(&config, &["x"]));
    assert!(err.contains("with the custom sentences in") && err.contains("HassTurnOn"), "{err}");
}

#[test]
#[ignore = "needs the test environment (the sentence data): run scripts/test"]
fn languages_the_data_lacks_are_named_with_the_ones_it_has() {
    let dir = support::tempdir();
    let out = hearth(&config(dir.path(), "xx", ""), &["x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no sentences for language \"xx\"") && err.contains("fr, ga"), "{err}");
    let out = hearth(&config(dir.path(), "english", ""), &["x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("intent.language"), "{}", stderr(&out));
    std::fs::write(dir.path().join("config.toml"), "[intent]\nlanguage = \"fr\"\n").unwrap();
    // The default data is not next to this config: French cannot work without it.
    let err = stderr(&hearth(&dir.path().join("config.toml"), &["x"]));
    assert!(err.contains("intent.language") && err.contains("needs Home Assistant's sentence data"), "{err}");
}
