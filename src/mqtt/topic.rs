//! MQTT topic rules, checked before anything is sent: a topic the broker refuses makes it drop
//! the whole connection (MQTT 3.1.1 has no way to refuse one message), so one bad command topic
//! would otherwise cost every other command its connection. Pure; no I/O.
//!
//! The rules are MQTT 3.1.1's (§1.5.3, §4.7) as Mosquitto 2.0 enforces them, checked against a
//! real mosquitto 2.0.11: a topic is 1 to 65,535 bytes of UTF-8 without U+0000; a published topic
//! has no wildcard (`+`, `#`); control characters (U+0001–U+001F, U+007F–U+009F) and Unicode
//! non-characters (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF) are refused (the standard says "SHOULD
//! NOT", mosquitto disconnects); and mosquitto refuses more than [`MAX_TOPIC_SEPARATORS`] `/`
//! (its `TOPIC_HIERARCHY_LIMIT`, fixed at build time, not a config option).

/// Longest topic MQTT can carry: its length is a 16-bit count of bytes.
pub const MAX_TOPIC_BYTES: usize = 65_535;

/// Most `/` separators a topic may have (so at most 201 levels): mosquitto's
/// `TOPIC_HIERARCHY_LIMIT`; it disconnects a client publishing or subscribing to a deeper one.
pub const MAX_TOPIC_SEPARATORS: usize = 200;

/// Why a topic (or topic filter) would be refused by the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    /// Zero bytes long.
    #[error("the topic is empty")]
    Empty,
    /// Longer than [`MAX_TOPIC_BYTES`].
    #[error("the topic is {0} bytes long; MQTT allows at most 65535")]
    TooLong(usize),
    /// More than [`MAX_TOPIC_SEPARATORS`] `/`.
    #[error("the topic has {0} levels; MQTT brokers (mosquitto) refuse more than 201")]
    TooDeep(usize),
    /// A wildcard in a topic to publish to, or one misplaced in a filter.
    #[error(
        "the topic contains the wildcard {0:?}, which only a subscription may use (`#` last, each alone in its level)"
    )]
    Wildcard(char),
    /// NUL, a control character or a Unicode non-character.
    #[error(
        "the topic contains the character U+{0:04X}, which MQTT brokers refuse (NUL, control characters and Unicode non-characters)"
    )]
    Character(u32),
}

/// Checks a topic to publish to.
pub fn check_publish(topic: &str) -> Result<(), TopicError> {
    check_common(topic)?;
    if let Some(wildcard) = topic.chars().find(|c| matches!(c, '+' | '#')) {
        return Err(TopicError::Wildcard(wildcard));
    }
    Ok(())
}

/// Checks a topic filter to subscribe to: the rules of [`check_publish`], except that `+` may
/// stand alone in any level and `#` alone in the last one.
pub fn check_filter(filter: &str) -> Result<(), TopicError> {
    check_common(filter)?;
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        for wildcard in ['+', '#'] {
            let alone = *level == wildcard.to_string();
            let allowed = alone && (wildcard == '+' || i == levels.len() - 1);
            if level.contains(wildcard) && !allowed {
                return Err(TopicError::Wildcard(wildcard));
            }
        }
    }
    Ok(())
}

/// A topic shortened and escaped for a log line: control characters shown as escapes (so a
/// topic cannot rewrite the terminal), at most 120 characters.
pub fn shown(topic: &str) -> String {
    /// Characters of the topic kept in a log line.
    const KEEP: usize = 120;
    let mut out: String = topic.chars().take(KEEP).flat_map(char::escape_debug).collect();
    let total = topic.chars().count();
    if total > KEEP {
        out.push_str(&format!("… ({} bytes)", topic.len()));
    }
    out
}

fn check_common(topic: &str) -> Result<(), TopicError> {
    if topic.is_empty() {
        return Err(TopicError::Empty);
    }
    if topic.len() > MAX_TOPIC_BYTES {
        return Err(TopicError::TooLong(topic.len()));
    }
    if let Some(c) = topic.chars().find(|&c| refused_char(c)) {
        return Err(TopicError::Character(u32::from(c)));
    }
    let separators = topic.bytes().filter(|&b| b == b'/').count();
    if separators > MAX_TOPIC_SEPARATORS {
        return Err(TopicError::TooDeep(separators + 1));
    }
    Ok(())
}

/// NUL, C0 and C1 control characters, DEL, and the Unicode non-characters.
fn refused_char(c: char) -> bool {
    let code = u32::from(c);
    c.is_control() || (0xFDD0..=0xFDEF).contains(&code) || (code & 0xFFFE) == 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_topics_pass() {
        for topic in ["zigbee2mqtt/Kitchen Light/set", "a", "/", "tasmota/plug1/cmnd/POWER", "Küche/Licht/set", "💡"]
        {
            assert_eq!(check_publish(topic), Ok(()), "{topic:?}");
        }
    }

    #[test]
    fn every_rule_the_broker_enforces_is_named() {
        assert_eq!(check_publish(""), Err(TopicError::Empty));
        assert_eq!(check_publish(&"a".repeat(65_536)), Err(TopicError::TooLong(65_536)));
        assert_eq!(check_publish(&"a".repeat(65_535)), Ok(()));
        assert_eq!(check_publish("lights/+/set"), Err(TopicError::Wildcard('+')));
        assert_eq!(check_publish("lights/#"), Err(TopicError::Wildcard('#')));
        assert_eq!(check_publish("a\u{0}b"), Err(TopicError::Character(0)));
        assert_eq!(check_publish("a\u{1}b"), Err(TopicError::Character(1)));
        assert_eq!(check_publish("a\nb"), Err(TopicError::Character(0x0A)));
        assert_eq!(check_publish("a\u{7f}b"), Err(TopicError::Character(0x7F)));
        assert_eq!(check_publish("a\u{85}b"), Err(TopicError::Character(0x85)));
        assert_eq!(check_publish("a\u{fdd0}b"), Err(TopicError::Character(0xFDD0)));
        assert_eq!(check_publish("a\u{fffe}b"), Err(TopicError::Character(0xFFFE)));
        assert_eq!(check_publish("a\u{1ffff}b"), Err(TopicError::Character(0x1FFFF)));
    }

    #[test]
    fn mosquittos_level_limit_is_exact() {
        // 200 separators (201 levels) is the deepest mosquitto 2.0 accepts.
        let deepest = format!("a{}", "/a".repeat(200));
        assert_eq!(check_publish(&deepest), Ok(()));
        let deeper = format!("a{}", "/a".repeat(201));
        assert_eq!(check_publish(&deeper), Err(TopicError::TooDeep(202)));
        let message = TopicError::TooDeep(300).to_string();
        assert!(message.contains("300 levels") && message.contains("201"), "{message}");
    }

    #[test]
    fn filters_allow_wildcards_only_where_mqtt_does() {
        for filter in ["homeassistant/+/+/config", "#", "a/#", "+", "+/+", "a/+/b"] {
            assert_eq!(check_filter(filter), Ok(()), "{filter:?}");
        }
        assert_eq!(check_filter("a/#/b"), Err(TopicError::Wildcard('#')));
        assert_eq!(check_filter("a/b#"), Err(TopicError::Wildcard('#')));
        assert_eq!(check_filter("a/b+/c"), Err(TopicError::Wildcard('+')));
        assert_eq!(check_filter(""), Err(TopicError::Empty));
        assert_eq!(check_filter("a/\u{0}/#"), Err(TopicError::Character(0)));
    }

    #[test]
    fn shown_topics_are_escaped_and_short() {
        assert_eq!(shown("a\u{1b}[2Jb\u{0}"), "a\\u{1b}[2Jb\\0");
        let long = shown(&"a/".repeat(150));
        assert!(long.starts_with("a/a/") && long.ends_with("… (300 bytes)"), "{long}");
        assert_eq!(long.chars().count(), 120 + "… (300 bytes)".chars().count());
    }
}
