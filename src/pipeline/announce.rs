//! Announcements: text published to `hearth/<site>/say` is spoken on the speaker, so a Home
//! Assistant automation can make the kitchen say "the washing machine is done". The payload is
//! plain UTF-8 text, or JSON `{"text": "…", "language": "de"}`. Retained messages are not
//! spoken (an old announcement must not repeat at every start); anything else that is not
//! text gets one warning naming the topic and the fix, and is dropped.

use std::sync::Arc;

use serde_json::Value;

use crate::feedback::Feedback;
use crate::intent::Language;
use crate::mqtt::MqttBridge;
use crate::voice::{MAX_TEXT, Voice};

/// Largest payload read; longer announcements are refused, not cut mid-sentence.
pub const MAX_PAYLOAD: usize = 4 * MAX_TEXT;

/// An announcement to speak: its text and language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// What to say.
    pub text: String,
    /// In which language.
    pub language: Language,
}

/// Reads a `hearth/<site>/say` payload; `Err` says what is wrong with it and how to fix it.
pub fn parse(payload: &[u8], default: Language) -> Result<Announcement, String> {
    const FIX: &str = "publish plain UTF-8 text, or JSON {\"text\": \"…\", \"language\": \"en\"}";
    if payload.len() > MAX_PAYLOAD {
        return Err(format!(
            "{} bytes is longer than the {MAX_PAYLOAD} bytes spoken at most; send a shorter text",
            payload.len()
        ));
    }
    let text = std::str::from_utf8(payload).map_err(|_| format!("the payload is not UTF-8 text; {FIX}"))?;
    let (text, language) = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => {
            let Some(text) = object.get("text").and_then(Value::as_str) else {
                return Err(format!("the JSON has no \"text\" string; {FIX}"));
            };
            let language = match object.get("language") {
                None | Some(Value::Null) => default,
                Some(Value::String(code)) => Language::parse(code)
                    .ok_or_else(|| format!("\"language\": {code:?} is not a language code; use en, de, fr, …"))?,
                Some(_) => return Err(format!("\"language\" must be a string such as \"de\"; {FIX}")),
            };
            (text.to_owned(), language)
        }
        _ => (text.to_owned(), default),
    };
    let text = crate::voice::clean_text(&text);
    if text.is_empty() {
        return Err(format!("there is nothing to say; {FIX}"));
    }
    Ok(Announcement { text, language })
}

/// Speaks every announcement on `hearth/<site>/say` until the bridge stops.
pub async fn speak_announcements(bridge: MqttBridge, voice: Voice, output: Arc<Feedback>, default: Language) {
    let topic = bridge.topics().say.clone();
    let mut subscription = match bridge.subscribe(topic.clone()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("announcements on {topic} are not heard: {e}");
            return;
        }
    };
    while let Some(message) = subscription.recv().await {
        if message.retained || message.payload.is_empty() {
            continue;
        }
        let announcement = match parse(&message.payload, default) {
            Ok(a) => a,
            Err(why) => {
                tracing::warn!(%topic, "announcement not spoken: {why}");
                continue;
            }
        };
        let voice = voice.clone();
        let speech = tokio::task::spawn_blocking(move || voice.speak(&announcement.text, announcement.language)).await;
        match speech {
            Ok(Ok(speech)) => {
                tracing::info!(seconds = format_args!("{:.1}", speech.duration().as_secs_f64()), "announcement");
                output.say(&speech);
            }
            Ok(Err(e)) => tracing::warn!("announcement not spoken: {e}"),
            Err(e) => tracing::warn!("announcement not spoken: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_and_json_announcements() {
        let en = Language::En;
        assert_eq!(parse(b"the washing machine is done", en).unwrap().text, "the washing machine is done");
        let de = parse(br#"{"text": "Die Waschmaschine ist fertig", "language": "de"}"#, en).unwrap();
        assert_eq!((de.text.as_str(), de.language), ("Die Waschmaschine ist fertig", Language::De));
        assert_eq!(parse(br#"{"text": "hi"}"#, Language::De).unwrap().language, Language::De);
        // A bare JSON string or number is read as text.
        assert_eq!(parse(b"42", en).unwrap().text, "42");
    }

    #[test]
    fn hostile_announcements_are_refused_with_the_fix() {
        let en = Language::En;
        for (payload, needle) in [
            (&b"\xff\xfe"[..], "not UTF-8"),
            (br#"{"txt": "x"}"#, "no \"text\""),
            (br#"{"text": "x", "language": 7}"#, "must be a string"),
            (br#"{"text": "x", "language": "!!"}"#, "not a language code"),
            (b" \n\t ", "nothing to say"),
        ] {
            let err = parse(payload, en).unwrap_err();
            assert!(err.contains(needle), "{payload:?}: {err}");
        }
        assert!(parse(&vec![b'a'; MAX_PAYLOAD + 1], en).unwrap_err().contains("shorter"));
    }
}
