//! Hearth's reading of Home Assistant's sentence data against hassil itself (issue 13).
//!
//! The data wheels and hassil come from `tests/hassil/setup` (pinned, SHA-256 checked); the
//! oracle `tests/hassil/oracle.py` samples sentences from the templates over the fixture home
//! `tests/hassil/home.json`, runs hassil's `recognize_best` on each and writes what it found.
//! These tests then run Hearth's recognizer on the same sentences with the same home and
//! compare intent and slots.

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
