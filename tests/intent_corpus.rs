//! The intent corpus: hundreds of sentences per language, written the way whisper writes them
//! (punctuation, casing, digits or words, hyphens, filler, misheard names) plus sentences that
//! must not match, run against realistic homes (`tests/corpus/home_*.toml`). Prints precision
//! (wrong actions / all actions issued) and recall, and holds both to their bounds.
//!
//! Corpus lines (`tests/corpus/<language>.txt`):
//!
//! ```text
//! # comment
//! @area Kitchen                      # the satellite's area for the following lines ("@area" clears)
//! Turn on the kitchen light. => HassTurnOn name=Kitchen Light | zigbee2mqtt/kitchen_light/set {"state":"ON"}
//! Unlock the front door. => HassTurnOff domain=lock, name=Front Door | refused
//! Set a timer for 5 minutes. => HassStartTimer minutes=5
//! Tell me a joke. => none
//! ```
//!
//! After the intent come its slots (`key=value, ...`, all of them) and, after `|`, every action
//! (`topic payload`, separated by ` ; `) in order, or `refused` (no action, a reason given).
//! No `|` means no action.

use std::collections::BTreeMap;
use std::path::Path;

use hearth::config::Settings;
use hearth::home::EntityRegistry;
use hearth::intent::{Context, IntentMatch, Language, Recognizer};

/// Recall measured when the corpus was written; a drop below fails the test.
const MIN_RECALL: f64 = 0.97;
/// A wrong action is far worse than none.
const MIN_PRECISION: f64 = 0.99;
/// With Home Assistant's sentence data tried first (as `hearth run` does): the share of
/// commands whose actions (or refusal) come out exactly as expected. Measured when the data
/// was added (2026.10.27: en 0.975, de 1.0); slots are not compared, because Assist names them
/// its own way ("name" without "domain", a "device_class" for "the blinds").
const MIN_ACTION_RECALL_WITH_DATA: f64 = 0.95;

#[derive(Debug)]
struct Expected {
    line: usize,
    area: Option<String>,
    text: String,
    intent: Option<(String, BTreeMap<String, String>)>,
    actions: Vec<(String, String)>,
    refused: bool,
}

fn parse_corpus(text: &str) -> Vec<Expected> {
    let mut area = None;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@area") {
            area = Some(rest.trim().to_string()).filter(|a| !a.is_empty());
            continue;
        }
        let (sentence, expect) = line.split_once(" => ").unwrap_or_else(|| panic!("line {}: no ` => `: {line}", i + 1));
        let mut parts = expect.split(" | ");
        let head = parts.next().unwrap().trim();
        let intent = if head == "none" {
            None
        } else {
            let (name, slots) = head.split_once(' ').unwrap_or((head, ""));
            let slots = slots
                .split(", ")
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    let (k, v) = s.split_once('=').unwrap_or_else(|| panic!("line {}: bad slot {s:?}", i + 1));
                    (k.trim().to_string(), v.trim().to_string())
                })
                .collect();
            Some((name.to_string(), slots))
        };
        let mut actions = Vec::new();
        let mut refused = false;
        for part in parts {
            let part = part.trim();
            if part == "refused" {
                refused = true;
                continue;
            }
            for action in part.split(" ; ") {
                let (topic, payload) = action.split_once(' ').unwrap_or((action, ""));
                actions.push((topic.to_string(), payload.to_string()));
            }
        }
        out.push(Expected {
            line: i + 1,
            area: area.clone(),
            text: sentence.trim().to_string(),
            intent,
            actions,
            refused,
        });
    }
    out
}

fn describe(m: Option<&IntentMatch>) -> String {
    match m {
        None => "none".into(),
        Some(m) => {
            let slots: Vec<String> = m.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let mut s = format!("{} {}", m.name, slots.join(", "));
            if !m.actions.is_empty() {
                let actions: Vec<String> = m.actions.iter().map(|a| format!("{} {}", a.topic, a.payload)).collect();
                s.push_str(&format!(" | {}", actions.join(" ; ")));
            }
            if m.refused.is_some() {
                s.push_str(" | refused");
            }
            s
        }
    }
}

#[derive(Debug, Default)]
struct Score {
    positives: usize,
    negatives: usize,
    correct: usize,
    false_intents: usize,
    wrong_intents: usize,
    actions_issued: usize,
    actions_wrong: usize,
    /// Commands that expect actions or a refusal, and those that got exactly that.
    action_commands: usize,
    actions_right: usize,
}

/// Which recognizer the corpus runs through.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sentences {
    /// Hearth's own sentences alone: intents, slots and actions compared.
    Own,
    /// Home Assistant's pinned data first, then Hearth's own, as `hearth run` has them: the
    /// actions and refusals compared.
    WithData,
}

fn run(language: Language, sentences: Sentences) -> Score {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let settings = Settings::from_file(&dir.join(format!("home_{}.toml", language.code()))).expect("test home config");
    let registry = EntityRegistry::from_settings(&settings).expect("test home entities");
    let mut recognizer = Recognizer::from_settings(&settings).expect("sentences compile");
    if sentences == Sentences::WithData {
        let data =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("models/home_assistant_intents-2026.10.27-py3-none-any.whl");
        let assist = hearth::intent::ha::assist::Assist::load(&data, &[language], None)
            .unwrap_or_else(|e| panic!("{e}: run scripts/setup-test-env (scripts/test does)"));
        recognizer = recognizer.with_assist(assist);
    }
    let corpus = std::fs::read_to_string(dir.join(format!("{}.txt", language.code()))).expect("corpus file");
    let mut score = Score::default();
    let mut failures = Vec::new();
    for e in parse_corpus(&corpus) {
        let context = Context { language, area: e.area.clone() };
        let got = recognizer.recognize(&e.text, &registry, &context);
        let got_actions: Vec<(String, String)> =
            got.iter().flat_map(|m| m.actions.iter().map(|a| (a.topic.clone(), a.payload.clone()))).collect();
        score.actions_issued += got_actions.len();
        let mut expected_pool = e.actions.clone();
        for a in &got_actions {
            match expected_pool.iter().position(|x| x == a) {
                Some(i) => {
                    expected_pool.remove(i);
                }
                None => score.actions_wrong += 1,
            }
        }
        let actions_ok = got_actions == e.actions && e.refused == got.as_ref().is_some_and(|m| m.refused.is_some());
        if e.intent.is_some() && actions_ok && (!e.actions.is_empty() || e.refused) {
            score.actions_right += 1;
        }
        if e.intent.is_some() && (!e.actions.is_empty() || e.refused) {
            score.action_commands += 1;
        }
        let ok = match (&e.intent, &got) {
            (None, None) => true,
            (None, Some(m)) if sentences == Sentences::WithData => m.actions.is_empty(),
            (Some(_), Some(_)) if sentences == Sentences::WithData => actions_ok,
            (Some((name, slots)), Some(m)) => {
                let got_slots: BTreeMap<String, String> =
                    m.slots.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
                *name == m.name && *slots == got_slots && got_actions == e.actions && e.refused == m.refused.is_some()
            }
            _ => false,
        };
        match &e.intent {
            Some(_) => score.positives += 1,
            None => score.negatives += 1,
        }
        match (&e.intent, &got) {
            (None, Some(_)) => score.false_intents += 1,
            (Some((name, _)), Some(m)) if *name != m.name => score.wrong_intents += 1,
            _ => {}
        }
        if ok {
            score.correct += usize::from(e.intent.is_some());
        } else {
            failures.push(format!(
                "  line {} [{}] {:?}\n    expected: {}\n    got:      {}",
                e.line,
                e.area.as_deref().unwrap_or("-"),
                e.text,
                match &e.intent {
                    None => "none".to_string(),
                    Some((n, s)) => {
                        let slots: Vec<String> = s.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        let actions: Vec<String> = e.actions.iter().map(|(t, p)| format!("{t} {p}")).collect();
                        format!(
                            "{n} {}{}{}",
                            slots.join(", "),
                            if actions.is_empty() { String::new() } else { format!(" | {}", actions.join(" ; ")) },
                            if e.refused { " | refused" } else { "" }
                        )
                    }
                },
                describe(got.as_ref())
            ));
        }
    }
    let precision = 1.0 - score.actions_wrong as f64 / score.actions_issued.max(1) as f64;
    let recall = score.correct as f64 / score.positives.max(1) as f64;
    let action_recall = score.actions_right as f64 / score.action_commands.max(1) as f64;
    println!(
        "intent corpus ({}, {}): {} sentences ({} commands/questions, {} out of domain)\n  \
         commands with exactly the expected actions or refusal: {:.2}% ({} of {})\n  \
         action precision {:.2}% ({} wrong of {} actions issued)\n  \
         recall {:.2}% ({} of {} exactly right)\n  \
         intents on out-of-domain sentences: {}; wrong intent names: {}",
        language.code(),
        if sentences == Sentences::WithData { "Home Assistant's data first" } else { "Hearth's own sentences" },
        score.positives + score.negatives,
        score.positives,
        score.negatives,
        action_recall * 100.0,
        score.actions_right,
        score.action_commands,
        precision * 100.0,
        score.actions_wrong,
        score.actions_issued,
        recall * 100.0,
        score.correct,
        score.positives,
        score.false_intents,
        score.wrong_intents,
    );
    if !failures.is_empty() {
        println!("not as expected:\n{}", failures.join("\n"));
    }
    assert!(precision >= MIN_PRECISION, "{}: action precision {precision:.4} below {MIN_PRECISION}", language.code());
    match sentences {
        Sentences::Own => assert!(recall >= MIN_RECALL, "{}: recall {recall:.4} below {MIN_RECALL}", language.code()),
        Sentences::WithData => assert!(
            action_recall >= MIN_ACTION_RECALL_WITH_DATA,
            "{}: actions right {action_recall:.4} below {MIN_ACTION_RECALL_WITH_DATA}",
            language.code()
        ),
    }
    assert!(score.positives >= 200 && score.negatives >= 40, "the corpus must stay large");
    score
}

#[test]
fn english_corpus() {
    run(Language::En, Sentences::Own);
}

#[test]
fn german_corpus() {
    run(Language::De, Sentences::Own);
}

#[test]
#[ignore = "needs the test environment (the sentence data): run scripts/test"]
fn english_corpus_with_home_assistants_data_first() {
    run(Language::En, Sentences::WithData);
}

#[test]
#[ignore = "needs the test environment (the sentence data): run scripts/test"]
fn german_corpus_with_home_assistants_data_first() {
    run(Language::De, Sentences::WithData);
}
