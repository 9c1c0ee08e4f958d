//! From transcript to action: removes the wake word the pre-roll carried into the transcript,
//! recognises the intent and publishes its MQTT commands and "Voice command" event. The text
//! handling here is pure; [`Actor`] is the thin shell that talks to the bridge.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use zeroize::Zeroize;

use crate::answer::Answers;
use crate::config::TranscriptPolicy;
use crate::home::EntityRegistry;
use crate::intent::{Context, IntentMatch, Language, Recognizer};
use crate::mqtt::MqttBridge;
use crate::timer::TimerRequest;

use super::timers::{TimerService, is_stop};

use super::session::{execute, shared_text};

/// Words people put before a wake word, or that whisper hears in its place.
const LEAD_INS: [&str; 8] = ["hey", "hi", "hay", "ok", "okay", "oh", "a", "he"];

/// The words of a wake-word model's name (`hey_jarvis` → `hey`, `jarvis`; a path → its stem).
pub fn wake_words(model: &str) -> Vec<String> {
    let stem = std::path::Path::new(model).file_stem().and_then(|s| s.to_str()).unwrap_or(model);
    let is_version =
        |w: &str| w.len() > 1 && w.starts_with('v') && w[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
    stem.split(['_', '-', ' ']).filter(|w| !w.is_empty() && !is_version(w)).map(str::to_lowercase).collect()
}

/// Letters and digits of `word`, lowercased.
pub(super) fn bare(word: &str) -> String {
    word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Edit distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    crate::measure::edit_distance(&a, &b)
}

/// True when `word` is the wake word, a lead-in, or what whisper makes of the wake word
/// ("Jarvis," "Jervis", "Alexa's").
fn sounds_like_wake(word: &str, wake: &[String]) -> bool {
    let w = bare(word);
    if w.is_empty() || LEAD_INS.contains(&w.as_str()) {
        return true;
    }
    wake.iter().any(|k| {
        let w = w.strip_suffix('s').filter(|_| !k.ends_with('s')).unwrap_or(&w);
        k.len() >= 4 && distance(w, k) <= k.len() / 3 || k == w
    })
}

/// The transcript without the wake word at its start: the pre-roll often carries the end of
/// it ("Jarvis, turn on the light."). Only leading words are removed, at most four.
pub fn strip_wake_word<'t>(text: &'t str, wake: &[String]) -> &'t str {
    let mut rest = text.trim_start();
    for _ in 0..4 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.is_empty() || !sounds_like_wake(word, wake) {
            break;
        }
        rest = tail.trim_start_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
    }
    rest
}

/// Words that must not be dropped from the start of a command: they change its meaning.
const NEGATIONS: [&str; 8] = ["don't", "dont", "not", "never", "no", "nicht", "kein", "keine"];

/// Readings of a transcript to try, best first, when the start of it may be a misheard wake
/// word ("A jar of this, turn on the light."): without the wake word; as heard; without a
/// short first phrase (up to three words before the first comma or full stop); without one,
/// two or three leading words (never a negation).
pub fn readings<'t>(text: &'t str, wake: &[String]) -> Vec<&'t str> {
    let mut out = vec![strip_wake_word(text, wake), text.trim()];
    let words: Vec<(usize, &str)> =
        text.split_whitespace().map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w)).collect();
    if let Some(i) = words.iter().take(3).position(|(_, w)| w.ends_with([',', '.', '!', '?', ';', ':']))
        && let Some((at, _)) = words.get(i + 1)
    {
        out.push(&text[*at..]);
    }
    for drop in 1..=3 {
        let Some((at, _)) = words.get(drop) else { break };
        if words[..drop].iter().any(|(_, w)| NEGATIONS.contains(&bare(w).as_str()) || NEGATIONS.contains(w)) {
            break;
        }
        out.push(&text[*at..]);
    }
    let mut unique: Vec<&str> = Vec::with_capacity(out.len());
    for r in out {
        if !r.is_empty() && !unique.contains(&r) {
            unique.push(r);
        }
    }
    unique
}

/// What became of one command, for the log and the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Whisper heard nothing (noise, or a false wake).
    NothingSaid,
    /// Speech that no sentence matches.
    NotUnderstood,
    /// Recognised; this many messages published, this many not (broker trouble).
    Done {
        /// Intent name.
        intent: String,
        /// Messages the broker acknowledged.
        published: usize,
        /// Messages expired or dropped.
        failed: usize,
        /// Why some targets were refused (a guarded action), if any.
        refused: Option<String>,
        /// What to say back (rendered from the response templates), if anything.
        answer: Option<String>,
        /// The language it was understood in.
        language: Language,
    },
    /// A ringing timer was told to stop.
    StoppedRinging,
}

/// Recognises and publishes. Shared by the handler thread; the registry is updated live by the
/// discovery task.
pub struct Actor {
    /// Sentence templates.
    pub recognizer: Recognizer,
    /// The devices, from `[[entity]]` and discovery.
    pub registry: Arc<RwLock<EntityRegistry>>,
    /// Language and area of this satellite.
    pub context: Context,
    /// The broker.
    pub bridge: MqttBridge,
    /// Runs the bridge; used to wait for acknowledgements.
    pub runtime: tokio::runtime::Handle,
    /// `[privacy] transcripts`.
    pub policy: TranscriptPolicy,
    /// The wake word's words, removed from the start of transcripts.
    pub wake: Vec<String>,
    /// Response templates.
    pub answers: Arc<Answers>,
    /// The timers.
    pub timers: Arc<TimerService>,
}

impl Actor {
    /// Recognises `text` and publishes the result; waits for the broker's acknowledgements.
    /// Wipes the text afterwards (the intent event, when the policy lets it carry the text,
    /// holds its own copy). `language` overrides the configured one (whisper detected it).
    pub fn act(&self, mut text: String, language: Option<Language>) -> Handled {
        let handled = self.act_on(&text, language);
        text.zeroize();
        handled
    }

    fn act_on(&self, text: &str, language: Option<Language>) -> Handled {
        if text.trim().is_empty() {
            return Handled::NothingSaid;
        }
        if self.policy == TranscriptPolicy::Log {
            tracing::info!(transcript = %text, "heard");
        }
        let context = Context { language: language.unwrap_or(self.context.language), area: self.context.area.clone() };
        let readings = readings(text, &self.wake);
        if self.timers.ringing() && readings.iter().any(|r| is_stop(r)) {
            self.timers.stop_ringing();
            return Handled::StoppedRinging;
        }
        let matched = {
            let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
            readings.iter().find_map(|r| self.recognizer.recognize(r, &registry, &context).map(|m| (m, *r)))
        };
        let Some((m, command)) = matched else {
            if strip_wake_word(text, &self.wake).is_empty() {
                return Handled::NothingSaid;
            }
            return Handled::NotUnderstood;
        };
        let language = context.language;
        let answer = match TimerRequest::from_intent(&m.name, &m.slots) {
            Some(request) => {
                let outcome = self.timers.apply(&request, crate::answer::slots_json(&m.slots), language);
                match outcome.error {
                    Some(key) => self.answers.error(language, key, &outcome.context),
                    None => self.answers.intent(language, &m.name, m.response.as_deref(), &outcome.context),
                }
            }
            None => self.answer(&m, language),
        };
        let settled = execute(&self.bridge, &self.runtime, &m, shared_text(self.policy, command), answer.as_deref());
        let answer = if settled.failed > 0 {
            self.answers.error(language, "device_failed", &serde_json::json!({}))
        } else {
            answer
        };
        Handled::Done {
            intent: m.name.clone(),
            published: settled.published,
            failed: settled.failed,
            refused: m.refused.clone(),
            answer,
            language,
        }
    }

    /// The answer to a device intent: Home Assistant's template for the match, with the first
    /// device as `state`. A question about a state Hearth has not heard yet says so.
    fn answer(&self, m: &IntentMatch, language: Language) -> Option<String> {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        let states: Vec<serde_json::Value> =
            m.targets.iter().filter_map(|id| registry.get(id)).map(|e| crate::answer::state_json(e, None)).collect();
        if matches!(m.name.as_str(), "HassGetState" | "HassClimateGetTemperature") {
            let name = states.first().and_then(|s| s["name"].as_str()).unwrap_or_default();
            return self.answers.error(language, "no_state", &serde_json::json!({ "name": name }));
        }
        let context = serde_json::json!({
            "slots": crate::answer::slots_json(&m.slots),
            "state": states.first().cloned().unwrap_or_default(),
            "query": { "matched": states, "unmatched": [] },
        });
        self.answers.intent(language, &m.name, m.response.as_deref(), &context)
    }
}

/// Timings of one command, from the end of speech to the broker's acknowledgement.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    /// Trailing silence the endpointer waited for (audio time).
    pub silence: Duration,
    /// Transcription, measured by the STT worker.
    pub stt: Duration,
    /// From the endpointer's decision to the last acknowledgement, wall clock.
    pub after_decision: Duration,
}

impl Latency {
    /// End of speech → published: the silence waited plus everything after the decision.
    pub fn total(&self) -> Duration {
        self.silence + self.after_decision
    }

    /// Builds it from the decision instant.
    pub fn since(decided: Instant, silence: Duration, stt: Duration) -> Latency {
        Latency { silence, stt, after_decision: decided.elapsed() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jarvis() -> Vec<String> {
        wake_words("hey_jarvis")
    }

    #[test]
    fn wake_words_come_from_the_model_name() {
        assert_eq!(wake_words("hey_jarvis"), ["hey", "jarvis"]);
        assert_eq!(wake_words("alexa"), ["alexa"]);
        assert_eq!(wake_words("/opt/models/hey_mycroft_v0.1.onnx"), ["hey", "mycroft"]);
    }

    #[test]
    fn leading_wake_words_are_removed() {
        let w = jarvis();
        assert_eq!(strip_wake_word("Jarvis, turn on the kitchen light.", &w), "turn on the kitchen light.");
        assert_eq!(strip_wake_word("Hey Jarvis turn on the light", &w), "turn on the light");
        assert_eq!(strip_wake_word("Hey, Jervis. Turn off the fan.", &w), "Turn off the fan.");
        assert_eq!(strip_wake_word("Jarvis's turn on the light", &w), "turn on the light");
        assert_eq!(strip_wake_word("turn on the light", &w), "turn on the light");
        assert_eq!(strip_wake_word("Jarvis.", &w), "");
        // Only the start, and real words stay.
        assert_eq!(strip_wake_word("turn on jarvis lamp", &w), "turn on jarvis lamp");
        assert_eq!(strip_wake_word("Travel mode on", &w), "Travel mode on");
        let alexa = wake_words("alexa");
        assert_eq!(strip_wake_word("Alexa, schalte das Licht ein", &alexa), "schalte das Licht ein");
    }

    #[test]
    fn readings_drop_a_misheard_wake_word_but_never_a_negation() {
        let w = jarvis();
        assert_eq!(
            readings("of this. Turn on the kitchen light.", &w),
            [
                "of this. Turn on the kitchen light.",
                "Turn on the kitchen light.",
                "this. Turn on the kitchen light.",
                "on the kitchen light."
            ]
        );
        assert_eq!(readings("Jarvis, turn on the light", &w)[0], "turn on the light");
        assert!(readings("are of its turn on the light", &w).contains(&"turn on the light"));
        let r = readings("don't turn on the light", &w);
        assert_eq!(r, ["don't turn on the light"]);
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("jarvis", "jarvis"), 0);
        assert_eq!(distance("jervis", "jarvis"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
