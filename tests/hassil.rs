//! Hearth's reading of Home Assistant's sentence data against hassil itself (issue 13).
//!
//! The data wheels and hassil come from `tests/hassil/setup` (pinned, SHA-256 checked); the
//! oracle `tests/hassil/oracle.py` samples sentences from the templates over the fixture home
//! `tests/hassil/home.json`, runs hassil's `recognize_best` on each and writes what it found.
//! These tests then run Hearth's recognizer on the same sentences with the same home and
//! compare intent and slots.
//!
//! Hearth's own sentence files (`sentences/<lang>/*.yaml`, Home Assistant's format) go through
//! the same oracle: hassil loads them, samples them and recognizes the samples, and Hearth's
//! own recognizer (its normaliser, matcher and target resolution) must agree.

use std::path::PathBuf;
use std::time::Instant;

use hearth::intent::ha::LanguageGrammar;
use hearth::intent::ha::data::DataSource;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pinned_data() -> PathBuf {
    root().join("models/home_assistant_intents-2026.10.27-py3-none-any.whl")
}

#[test]
#[ignore = "needs the sentence data: run scripts/test (or scripts/setup-test-env, then cargo test -- --ignored)"]
fn every_language_of_the_pinned_data_compiles() {
    let source = DataSource::new(&pinned_data());
    let languages = source.languages().unwrap();
    assert!(languages.len() >= 50, "{languages:?}");
    let mut failed = Vec::new();
    for language in &languages {
        let started = Instant::now();
        let file = source.load(language).unwrap();
        match LanguageGrammar::from_json(&file, &[]) {
            Ok(g) => eprintln!(
                "{language}: {} intents, {} sentences in {:.1} ms",
                g.intent_names().len(),
                g.sentence_count(),
                started.elapsed().as_secs_f64() * 1e3
            ),
            Err(e) => failed.push(format!("{language}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

mod differential {
    use std::collections::{BTreeMap, HashMap};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::{Map, Value, json};

    use hearth::intent::ha::data::DataSource;
    use hearth::intent::ha::{LanguageGrammar, SlotList, TextValue};

    /// What `tests/hassil/setup` prepared: the venv's python and the two data wheels.
    pub struct Oracle {
        pub python: PathBuf,
        pub data: BTreeMap<String, PathBuf>,
    }

    impl Oracle {
        pub fn setup() -> Oracle {
            let root = super::root();
            let out = Command::new(root.join("tests/hassil/setup")).output().expect("tests/hassil/setup runs");
            assert!(out.status.success(), "tests/hassil/setup failed:\n{}", String::from_utf8_lossy(&out.stderr));
            let mut python = None;
            let mut data = BTreeMap::new();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                match line.split_once('=') {
                    Some(("python", p)) => python = Some(PathBuf::from(p)),
                    Some((k, p)) if k.starts_with("data_") => {
                        data.insert(k.trim_start_matches("data_").to_string(), PathBuf::from(p));
                    }
                    _ => {}
                }
            }
            Oracle { python: python.expect("setup prints python="), data }
        }

        /// Runs the oracle; returns its lines.
        pub fn run(&self, data: &Path, language: &str, args: &[&str], dir: &Path) -> Vec<Value> {
            let root = super::root();
            let out = dir.join(format!("{language}.jsonl"));
            let status = Command::new(&self.python)
                .arg(root.join("tests/hassil/oracle.py"))
                .arg("--data")
                .arg(data)
                .args(["--language", language, "--home"])
                .arg(root.join("tests/hassil/home.json"))
                .arg("--out")
                .arg(&out)
                .args(args)
                .status()
                .expect("the oracle runs");
            assert!(status.success(), "oracle.py failed for {language}");
            std::fs::read_to_string(&out)
                .expect("the oracle wrote its output")
                .lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        }
    }

    /// The fixture home, `tests/hassil/home.json`.
    pub fn fixture_home() -> Value {
        let text = std::fs::read_to_string(super::root().join("tests/hassil/home.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The name and aliases of a floor, area or entity of the fixture home in `language`: its
    /// German names for `de`, else the English ones.
    pub fn names_of(item: &Value, language: &str) -> (String, Vec<String>) {
        let item = match item.get("de") {
            Some(de) if language == "de" && de.is_object() => de,
            _ => item,
        };
        let aliases = item["aliases"].as_array().into_iter().flatten().filter_map(Value::as_str);
        (item["name"].as_str().unwrap().to_string(), aliases.map(str::to_string).collect())
    }

    /// The fixture home as slot lists, built as the oracle builds them (see its docs): names
    /// and aliases with domain, device class and area as context, areas and floors with
    /// aliases, every value out the canonical name.
    pub fn home_lists(language: &str) -> HashMap<String, SlotList> {
        let home = fixture_home();
        let localized = |item: &Value| names_of(item, language);
        let area_name: HashMap<String, String> = home["areas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].as_str().unwrap().to_string(), localized(a).0))
            .collect();
        let mut names = Vec::new();
        for e in home["entities"].as_array().unwrap() {
            let (name, aliases) = localized(e);
            let mut context = Map::new();
            context.insert("domain".into(), e["domain"].clone());
            if let Some(dc) = e["device_class"].as_str() {
                context.insert("device_class".into(), json!(dc));
            }
            if let Some(area) = e["area"].as_str() {
                context.insert("area".into(), json!(area_name[area]));
            }
            for alias in aliases.iter().filter(|a| !a.trim().is_empty()) {
                names.push(TextValue::name(alias, json!(name), context.clone()));
            }
            names.push(TextValue::name(&name, json!(name), context));
        }
        let places = |key: &str| {
            let mut values = Vec::new();
            for item in home[key].as_array().unwrap() {
                let (name, aliases) = localized(item);
                values.push(TextValue::name(&name, json!(name), Map::new()));
                for alias in aliases.iter().filter(|a| !a.trim().is_empty()) {
                    values.push(TextValue::name(alias, json!(name), Map::new()));
                }
            }
            SlotList::text(values)
        };
        HashMap::from([
            ("name".to_string(), SlotList::text(names)),
            ("area".to_string(), places("areas")),
            ("floor".to_string(), places("floors")),
        ])
    }

    /// Slots with numbers as f64, so 50 and 50.0 compare equal.
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), canonical(v))).collect()),
            Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
            other => other.clone(),
        }
    }

    fn lowercase(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), lowercase(v))).collect()),
            Value::String(s) => Value::String(s.to_lowercase()),
            other => other.clone(),
        }
    }

    /// Intent and slots, comparable.
    fn outcome(r: Option<(String, Value)>) -> Value {
        match r {
            None => Value::Null,
            Some((intent, slots)) => json!({"intent": intent, "slots": canonical(&slots)}),
        }
    }

    /// How Hearth and hassil compare on the oracle's sentences.
    pub struct Agreement {
        pub total: usize,
        pub agreed: usize,
        pub examples: Vec<String>,
    }

    impl Agreement {
        pub fn share(&self) -> f64 {
            self.agreed as f64 / self.total.max(1) as f64
        }
    }

    /// Every name, alias, area and floor of the fixture home in `language`, longest first.
    pub fn home_names(language: &str) -> Vec<String> {
        let home = fixture_home();
        let mut names = Vec::new();
        for key in ["entities", "areas", "floors"] {
            for item in home[key].as_array().unwrap() {
                let (name, aliases) = names_of(item, language);
                names.push(name);
                names.extend(aliases);
            }
        }
        names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
        names
    }

    /// How a recognizer answers one sentence.
    pub type Recognize<'a> =
        dyn Fn(&LanguageGrammar, &str, &HashMap<String, SlotList>, &Map<String, Value>) -> Option<(String, Value)> + 'a;

    /// Runs `recognize` on each line's text (changed by `damage`, which gets the line's index)
    /// and compares with hassil's answer on the clean text. Lines hassil did not recognise are
    /// skipped when `recognised_only`.
    pub fn compare(
        data: &Path,
        language: &str,
        lines: &[Value],
        recognised_only: bool,
        damage: &dyn Fn(usize, &str) -> String,
        recognize: &Recognize,
    ) -> Agreement {
        let file = DataSource::new(data).load(language).unwrap();
        let grammar = LanguageGrammar::from_json(&file, &[]).unwrap();
        let home = home_lists(language);
        let mut agreement = Agreement { total: 0, agreed: 0, examples: Vec::new() };
        for (i, line) in lines.iter().enumerate() {
            if recognised_only && line["result"].is_null() {
                continue;
            }
            let text = line["text"].as_str().unwrap();
            let context = match line["context_area"].as_str() {
                Some(area) => json!({"area": {"value": area, "text": area}}).as_object().cloned().unwrap(),
                None => Map::new(),
            };
            let theirs = outcome(
                line["result"].as_object().map(|r| (r["intent"].as_str().unwrap().to_string(), r["slots"].clone())),
            );
            let said = damage(i, text);
            let mut ours = outcome(recognize(&grammar, &said, &home, &context));
            let mut theirs = theirs;
            if said != text {
                // Damage changes the casing of free text (a wildcard keeps what was said).
                ours = lowercase(&ours);
                theirs = lowercase(&theirs);
            }
            agreement.total += 1;
            if ours == theirs {
                agreement.agreed += 1;
            } else if agreement.examples.len() < 40 {
                agreement.examples.push(format!(
                    "{said:?} (area {:?})\n    hassil: {theirs}\n    hearth: {ours}",
                    line["context_area"]
                ));
            }
        }
        agreement
    }

    /// Hearth's reading of the data exactly as Assist reads it.
    pub fn exact(
        g: &LanguageGrammar,
        text: &str,
        home: &HashMap<String, SlotList>,
        context: &Map<String, Value>,
    ) -> Option<(String, Value)> {
        g.recognize_best(text, home, context).map(|r| (r.intent, serde_json::to_value(&r.slots).unwrap()))
    }
}

/// The sentences sampled per language: `HEARTH_HASSIL_COUNT` overrides `default` (the issue's
/// bar is 10,000; CI samples fewer for the languages and releases beyond English and German).
fn count(default: usize) -> String {
    std::env::var("HEARTH_HASSIL_COUNT").unwrap_or_else(|_| default.to_string())
}

/// The oracle's lines: from `HEARTH_HASSIL_ORACLE/<language>-<release>.jsonl` when set (a run
/// kept from before), else from a fresh oracle run.
fn oracle_lines(release: &str, language: &str, default: usize) -> (PathBuf, Vec<serde_json::Value>) {
    let oracle = differential::Oracle::setup();
    let data = oracle.data[release].clone();
    if let Ok(dir) = std::env::var("HEARTH_HASSIL_ORACLE") {
        let stem = data
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("home_assistant_intents-", "")
            .replace("-py3-none-any.whl", "");
        let file = PathBuf::from(dir).join(format!("{language}-{stem}.jsonl"));
        if let Ok(text) = std::fs::read_to_string(&file) {
            eprintln!("oracle lines from {}", file.display());
            return (data, text.lines().map(|l| serde_json::from_str(l).unwrap()).collect());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let count = count(default);
    let lines = oracle.run(&data, language, &["--count", &count, "--seed", "13", "--jobs", "2"], dir.path());
    (data, lines)
}

fn report(what: &str, a: &differential::Agreement, started: Instant, bar: f64) {
    eprintln!(
        "{what}: {}/{} agree ({:.2} %), Hearth took {:.2} s",
        a.agreed,
        a.total,
        a.share() * 100.0,
        started.elapsed().as_secs_f64()
    );
    for e in &a.examples {
        eprintln!("  {e}");
    }
    assert!(a.share() >= bar, "{what}: agreement {:.2} % is below {:.1} %", a.share() * 100.0, bar * 100.0);
}

fn agree(release: &str, language: &str, count: usize, bar: f64) {
    let (data, lines) = oracle_lines(release, language, count);
    let started = Instant::now();
    let a = differential::compare(&data, language, &lines, false, &|_, t| t.to_string(), &differential::exact);
    report(&format!("{release} {language}"), &a, started, bar);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn english_agrees_with_hassil() {
    agree("2026", "en", 10_000, 0.99);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn german_agrees_with_hassil() {
    agree("2026", "de", 10_000, 0.99);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn french_spanish_dutch_and_italian_agree_with_hassil() {
    for language in ["fr", "es", "nl", "it"] {
        agree("2026", language, 2_000, 0.95);
    }
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn the_year_older_release_agrees_with_hassil() {
    for language in ["en", "de"] {
        agree("2025", language, 2_000, 0.99);
    }
}

/// Whisper-style damage, deterministic per line: capitals and punctuation always, "%" for
/// "percent", and in a sentence naming something of the home either the name hyphenated
/// (even lines) or one letter of one of its longer words mistyped (odd lines).
fn damage(names: &[String], i: usize, text: &str) -> String {
    let mut out: String = text
        .split(' ')
        .enumerate()
        .map(|(k, w)| {
            let mut c = w.chars();
            match c.next() {
                Some(f) if k == 0 || (i + k).is_multiple_of(3) => f.to_uppercase().chain(c).collect(),
                Some(f) => std::iter::once(f).chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    for (word, sign) in [(" percent", "%"), (" Prozent", "%"), (" prozent", "%")] {
        if let Some(at) = out.find(word)
            && out[..at].ends_with(|c: char| c.is_ascii_digit())
        {
            out.replace_range(at..at + word.len(), sign);
        }
    }
    let lower = out.to_lowercase();
    if let Some(name) = names.iter().find(|n| {
        let n = n.to_lowercase();
        lower.match_indices(&n).any(|(at, _)| {
            let before = lower[..at].chars().last();
            let after = lower[at + n.len()..].chars().next();
            before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
        })
    }) {
        let n = name.to_lowercase();
        if let Some(at) = lower.find(&n)
            && lower.len() == out.len()
        {
            let said = out[at..at + n.len()].to_string();
            let changed = if i.is_multiple_of(2) && said.contains(' ') {
                said.replace(' ', "-")
            } else {
                // One letter of the longest word (from the third letter on) becomes another.
                let words: Vec<&str> = said.split(' ').collect();
                let longest = words.iter().copied().max_by_key(|w| w.chars().count()).unwrap_or("");
                if longest.chars().count() >= 5 {
                    let mut cs: Vec<char> = longest.chars().collect();
                    let k = 2 + i % (cs.len() - 2);
                    cs[k] = if cs[k] == 'e' { 'a' } else { 'e' };
                    let typo: String = cs.into_iter().collect();
                    said.replacen(longest, &typo, 1)
                } else {
                    said.clone()
                }
            };
            out.replace_range(at..at + n.len(), &changed);
        }
    }
    match i % 4 {
        0 => out.push('?'),
        1 => out.push('.'),
        2 => out.push('!'),
        _ => {}
    }
    out
}

fn survives_damage(language: &str, numbers: hearth::intent::Language) {
    let (data, lines) = oracle_lines("2026", language, 3_000);
    let names = differential::home_names(language);
    let started = Instant::now();
    let spoken = move |g: &LanguageGrammar,
                       text: &str,
                       home: &std::collections::HashMap<String, hearth::intent::ha::SlotList>,
                       context: &serde_json::Map<String, serde_json::Value>| {
        hearth::intent::ha::assist::understand(g, text, home, context, Some(numbers))
            .map(|(r, _)| (r.intent, serde_json::to_value(&r.slots).unwrap()))
    };
    let a = differential::compare(&data, language, &lines, true, &|i, t| damage(&names, i, t), &spoken);
    report(&format!("damaged {language}"), &a, started, 0.97);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn english_survives_whisper_style_damage() {
    survives_damage("en", hearth::intent::Language::En);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn german_survives_whisper_style_damage() {
    survives_damage("de", hearth::intent::Language::De);
}

/// The fixture home as a Hearth config: every entity of a kind Hearth controls, with a
/// command topic, and the areas with floors and aliases. Names in `language`.
fn fixture_config(dir: &std::path::Path, language: &str) -> PathBuf {
    use differential::{fixture_home, names_of};
    use std::fmt::Write;
    let home = fixture_home();
    let area_name: std::collections::HashMap<&str, String> = home["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), names_of(a, language).0))
        .collect();
    let floor_of: std::collections::HashMap<&str, (String, Vec<String>)> = home["floors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), names_of(f, language)))
        .collect();
    let mut config = format!(
        "[intent]\nlanguage = \"{language}\"\ndata = {:?}\n",
        root().join("models/home_assistant_intents-2026.10.27-py3-none-any.whl").display().to_string()
    );
    for (n, e) in home["entities"].as_array().unwrap().iter().enumerate() {
        let kind = e["domain"].as_str().unwrap();
        if !hearth::config::ENTITY_KINDS.contains(&kind) {
            continue;
        }
        let (name, aliases) = names_of(e, language);
        writeln!(config, "[[entity]]\nname = {name:?}\nkind = {kind:?}\ncommand_topic = \"test/{n}/set\"").unwrap();
        writeln!(config, "aliases = {aliases:?}").unwrap();
        if let Some(area) = e["area"].as_str() {
            writeln!(config, "area = {:?}", area_name[area]).unwrap();
        }
        if let Some(class) = e["device_class"].as_str() {
            writeln!(config, "device_class = {class:?}").unwrap();
        }
    }
    for a in home["areas"].as_array().unwrap() {
        let (name, aliases) = names_of(a, language);
        let (floor, floor_aliases) = &floor_of[a["floor"].as_str().unwrap()];
        writeln!(
            config,
            "[[area]]\nname = {name:?}\nfloor = {floor:?}\naliases = {aliases:?}\nfloor_aliases = {floor_aliases:?}"
        )
        .unwrap();
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// Out-of-domain sentences (chit-chat, questions, devices and rooms the home does not have,
/// device words that are no command, negations, whisper's hallucinations) through
/// `hearth intent --json` with the whole fixture home: no action for at least 99.5 %.
fn takes_no_action(language: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture_config(dir.path(), language);
    let input = std::fs::read(root().join(format!("tests/hassil/ood-{language}.txt"))).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["intent", "--json", "--config"])
        .arg(&config)
        .env_remove("HEARTH_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "hearth intent failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let acted: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["actions"].as_array().is_some_and(|a| !a.is_empty())).collect();
    let recognised = lines.iter().filter(|l| !l["intent"].is_null()).count();
    eprintln!("{language}: {} sentences, {} with an action, {recognised} with an intent", lines.len(), acted.len());
    for l in lines.iter().filter(|l| !l["intent"].is_null()) {
        eprintln!("  {} -> {} {}", l["text"], l["intent"], l["actions"]);
    }
    assert!(lines.len() >= 300, "the set has {} sentences", lines.len());
    let share = 1.0 - acted.len() as f64 / lines.len() as f64;
    assert!(share >= 0.995, "{language}: {:.2} % of out-of-domain sentences took no action", share * 100.0);
}

#[test]
#[ignore = "needs the sentence data: run scripts/test"]
fn english_out_of_domain_sentences_take_no_action() {
    takes_no_action("en");
}

#[test]
#[ignore = "needs the sentence data: run scripts/test"]
fn german_out_of_domain_sentences_take_no_action() {
    takes_no_action("de");
}

/// Hearth's own sentence files of `language` (`sentences/<language>/*.yaml`) merged into one
/// language file, the shape the oracle reads from a folder: `<dir>/<language>.json`.
fn own_sentences_as_data(dir: &std::path::Path, language: &str) -> PathBuf {
    use serde_json::{Map, Value};
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("sentences").join(language))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut merged =
        serde_json::json!({"language": language, "intents": {}, "lists": {}, "expansion_rules": {}, "skip_words": []});
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let value = hearth::intent::ha::data::yaml_to_json(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (intent, body) in value["intents"].as_object().into_iter().flatten() {
            let entry = merged["intents"]
                .as_object_mut()
                .unwrap()
                .entry(intent.clone())
                .or_insert_with(|| serde_json::json!({"data": []}));
            entry["data"].as_array_mut().unwrap().extend(body["data"].as_array().unwrap().iter().cloned());
        }
        for key in ["lists", "expansion_rules"] {
            let into: &mut Map<String, Value> = merged[key].as_object_mut().unwrap();
            into.extend(value[key].as_object().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
        }
        merged["skip_words"]
            .as_array_mut()
            .unwrap()
            .extend(value["skip_words"].as_array().into_iter().flatten().cloned());
    }
    std::fs::write(dir.join(format!("{language}.json")), merged.to_string()).unwrap();
    dir.to_path_buf()
}

/// hassil reads Hearth's own sentence files as they are, and recognizes what Hearth's own
/// recognizer recognizes in sentences sampled from them over the fixture home.
fn own_sentences_agree(language: &str, hearth_language: hearth::intent::Language, bar: f64) {
    use hearth::intent::{Context, Recognizer};
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("own");
    std::fs::create_dir(&data_dir).unwrap();
    let data = own_sentences_as_data(&data_dir, language);
    let oracle = differential::Oracle::setup();
    let count = count(3_000);
    let lines = oracle.run(&data, language, &["--count", &count, "--seed", "13", "--jobs", "2"], dir.path());
    let settings = hearth::config::Settings::from_file(&fixture_config(dir.path(), language)).unwrap();
    let registry = hearth::home::EntityRegistry::from_settings(&settings).unwrap();
    let recognizer = Recognizer::from_settings(&settings).unwrap();
    // Whether the home has something of `kind` in `area` (folded names compared).
    use hearth::home::fold;
    // (Covers said without a name are the blind-like ones: "the shutters", not the garage door.)
    let blind_like =
        |class: Option<&str>| class.is_none_or(|c| ["blind", "shade", "shutter", "curtain", "awning"].contains(&c));
    let has_kind_in = |kind: &str, area: &str| {
        (0..registry.len()).any(|i| {
            let e = registry.at(i);
            e.kind.to_string() == kind
                && (kind != "cover" || blind_like(e.device_class()))
                && e.area.as_deref().is_some_and(|a| fold(a) == fold(area))
        })
    };
    let mut total = 0;
    let mut agreed = 0;
    let mut nothing_there = 0;
    let mut filled_in = 0;
    let mut examples = Vec::new();
    for line in &lines {
        let text = line["text"].as_str().unwrap();
        let area = line["context_area"].as_str().map(str::to_string);
        let theirs = line["result"].as_object().map(|r| {
            let slots: serde_json::Map<String, serde_json::Value> = r["slots"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_f64().map_or_else(|| v.clone(), |f| serde_json::json!(f))))
                .collect();
            (r["intent"].as_str().unwrap().to_string(), slots)
        });
        let got = recognizer.recognize(text, &registry, &Context { language: hearth_language, area: area.clone() });
        let ours = got.map(|m| {
            let slots: serde_json::Map<String, serde_json::Value> = m
                .slots
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json().as_f64().map_or_else(|| v.to_json(), |f| serde_json::json!(f))))
                .collect();
            (m.name, slots)
        });
        total += 1;
        // Hearth's own sentences report the satellite's area when they act on it; Assist's
        // data says so with `requires_context: area: slot: true`, which Hearth's files
        // cannot (hassil would then refuse them without a satellite area).
        let mut ours = ours;
        if let (Some((_, mine)), Some((_, hers))) = (&mut ours, &theirs)
            && !hers.contains_key("area")
            && area.is_some()
            && mine.get("area").and_then(|a| a.as_str()) == area.as_deref()
        {
            mine.remove("area");
            filled_in += 1;
        }
        // Where hassil matches and Hearth's own sentences act on nothing, Hearth resolves
        // targets as Home Assistant's intent handlers do after the match: no device of the
        // kind in the area said ("the fans in the garage"), no area at all for a sentence
        // about one ("turn on the fans" from no room), a named device said to be in another
        // area, a name that two areas have, neither of them the satellite's. Counted, not
        // compared.
        let unresolved = match (&theirs, &ours) {
            (Some((intent, slots)), None) => {
                let said_area = slots.get("area").and_then(|a| a.as_str()).or(area.as_deref());
                match slots.get("name").and_then(|n| n.as_str()) {
                    Some(name) => {
                        let named = registry.by_name(name);
                        let in_area = |e: &&hearth::home::Entity, a: &str| {
                            e.area.as_deref().is_some_and(|ea| fold(ea) == fold(a))
                        };
                        match said_area {
                            // Said to be somewhere it is not.
                            Some(a) if slots.contains_key("area") => !named.iter().any(|e| in_area(e, a)),
                            // The same name in two areas, none of them here: which one?
                            here => {
                                let mut areas: Vec<_> = named.iter().map(|e| e.area.as_deref().map(fold)).collect();
                                areas.dedup();
                                areas.len() > 1 && here.is_none_or(|h| !named.iter().any(|e| in_area(e, h)))
                            }
                        }
                    }
                    None => {
                        let kind = slots.get("domain").and_then(|d| d.as_str()).unwrap_or(match intent.as_str() {
                            "HassClimateSetTemperature" | "HassClimateGetTemperature" => "climate",
                            "HassLightSet" => "light",
                            _ => "",
                        });
                        !kind.is_empty() && said_area.is_none_or(|a| !has_kind_in(kind, a))
                    }
                }
            }
            _ => false,
        };
        if ours == theirs {
            agreed += 1;
        } else if unresolved {
            nothing_there += 1;
        } else if examples.len() < 60 {
            examples.push(format!("{text:?} (area {area:?})\n    hassil: {theirs:?}\n    hearth: {ours:?}"));
        }
    }
    let compared = total - nothing_there;
    let share = agreed as f64 / compared.max(1) as f64;
    eprintln!(
        "Hearth's own {language} sentences: {agreed}/{compared} agree with hassil ({:.2} %; {filled_in} of them \
         with the satellite's area as Hearth's area slot); {nothing_there} more of {total} have no target in \
         the home (hassil matches, Hearth's own do not act)",
        share * 100.0
    );
    for e in &examples {
        eprintln!("  {e}");
    }
    assert!(share >= bar, "{language}: agreement {:.2} % below {:.1} %", share * 100.0, bar * 100.0);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn hearths_own_english_sentences_agree_with_hassil() {
    own_sentences_agree("en", hearth::intent::Language::En, 0.99);
}

#[test]
#[ignore = "needs tests/hassil/setup (PyPI): run scripts/test"]
fn hearths_own_german_sentences_agree_with_hassil() {
    own_sentences_agree("de", hearth::intent::Language::De, 0.98);
}
