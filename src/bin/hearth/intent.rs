//! `hearth intent`: sentences from the arguments or stdin, one result line each (text or JSON,
//! CONTRACTS.md §1); with `--execute` the actions are published through a [`Session`] exactly as
//! `hearth run` publishes them. Recognition itself is [`hearth::intent`], which is pure.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use hearth::config::Settings;
use hearth::intent::{Context, IntentMatch, Language};
use hearth::pipeline::load_home;
use hearth::pipeline::session::{Session, shared_text};

/// How long `--execute` waits for the broker before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What `hearth intent` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct IntentOptions {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--language` (default: `[intent] language`).
    pub language: Option<Language>,
    /// `--area` (default: `[site] area`).
    pub area: Option<String>,
    /// `--json`.
    pub json: bool,
    /// `--execute`: also publish through MQTT and wait for the acknowledgements.
    pub execute: bool,
    /// Sentences from the command line; empty = read stdin.
    pub text: Vec<String>,
}

/// The sentences given as arguments: each argument is a sentence when some argument holds a
/// space (`hearth intent "turn on x" "turn off y"`), else the words form one sentence
/// (`hearth intent turn on the light`).
fn sentences_from_args(text: &[String]) -> Vec<String> {
    if text.iter().any(|t| t.trim().contains(char::is_whitespace)) {
        text.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()
    } else {
        let joined = text.join(" ");
        if joined.trim().is_empty() { Vec::new() } else { vec![joined.trim().to_string()] }
    }
}

/// `hearth intent`: prints one line per sentence.
pub fn run(options: IntentOptions) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load(options.config.as_deref())?;
    // `--language` picks the sentences loaded, not only the ones tried.
    if let Some(language) = options.language {
        settings.intent_language = language;
    }
    let session = if options.execute { Some(Session::connect(&settings, CONNECT_TIMEOUT)?) } else { None };
    let (mut registry, recognizer) = load_home(&settings, options.config.as_deref())?;
    if let Some(session) = &session {
        session.load_discovery(&mut registry, &settings.mqtt.discovery_prefix)?;
    }
    let context = Context {
        language: settings.intent_language,
        area: options.area.clone().or_else(|| settings.site_area.clone()),
    };

    let mut out = std::io::stdout().lock();
    let mut failed = 0usize;
    let mut answer = |sentence: &str| -> anyhow::Result<()> {
        let result = recognizer.recognize(sentence, &registry, &context);
        let line =
            if options.json { json_line(sentence, result.as_ref()) } else { text_line(sentence, result.as_ref()) };
        writeln!(out, "{line}")?;
        out.flush()?;
        if let (Some(session), Some(m)) = (&session, &result) {
            failed += session.execute(m, shared_text(settings.privacy.transcripts, sentence)).failed;
        }
        Ok(())
    };
    if options.text.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("reading sentences from stdin")?;
            if !line.trim().is_empty() {
                answer(line.trim())?;
            }
        }
    } else {
        for sentence in sentences_from_args(&options.text) {
            answer(&sentence)?;
        }
    }
    if let Some(session) = session {
        session.shutdown();
    }
    if failed > 0 {
        bail!("{failed} MQTT message(s) were not acknowledged by the broker (see the warnings above)");
    }
    Ok(ExitCode::SUCCESS)
}

/// `{"text": ..., "intent": {"name", "slots"} | null, "actions": [...], "response"?: KEY,
/// "refused"?: ...}` (`response`: Home Assistant's response template key, when its sentences matched).
pub fn json_line(text: &str, result: Option<&IntentMatch>) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let intent = result.map_or_else(|| "null".to_string(), |m| m.intent_json().to_string());
    let actions = serde_json::to_string(&result.map(|m| m.actions.as_slice()).unwrap_or_default())
        .unwrap_or_else(|_| "[]".into());
    let mut line = format!("{{\"text\": {}, \"intent\": {intent}, \"actions\": {actions}", quoted(text));
    if let Some(key) = result.and_then(|m| m.response.as_deref()) {
        line.push_str(&format!(", \"response\": {}", quoted(key)));
    }
    if let Some(reason) = result.and_then(|m| m.refused.as_deref()) {
        line.push_str(&format!(", \"refused\": {}", quoted(reason)));
    }
    line.push('}');
    line
}

/// `text => HassTurnOn(name=Kitchen Light) -> topic payload; ...`.
pub fn text_line(text: &str, result: Option<&IntentMatch>) -> String {
    let Some(m) = result else { return format!("{text} => no intent") };
    let slots: Vec<String> = m.slots.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut line = format!("{text} => {}({})", m.name, slots.join(", "));
    if !m.actions.is_empty() {
        let actions: Vec<String> = m.actions.iter().map(|a| format!("{} {}", a.topic, a.payload)).collect();
        line.push_str(&format!(" -> {}", actions.join("; ")));
    }
    if let Some(reason) = &m.refused {
        line.push_str(&format!(" (refused: {reason})"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_sentences() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(sentences_from_args(&args(&["turn", "on", "the", "light"])), ["turn on the light"]);
        assert_eq!(sentences_from_args(&args(&["turn on a", "turn off b"])), ["turn on a", "turn off b"]);
        assert!(sentences_from_args(&args(&[" "])).is_empty());
    }
}
