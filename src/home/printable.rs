//! Names and topics from discovery are text anyone on the broker can write: [`printable`] makes
//! them safe to print on a terminal or in the journal (no escape sequences, no forged lines).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a log as it is: C0/C1 control characters (ESC,
/// newline, tab, ...), the Unicode line and paragraph separators, and the bidirectional
/// overrides that make text display in an order other than its own.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character [`needs_escape`] names written as an escape (`\n`, `\t`, `\r`,
/// else `\u{1b}`); unchanged (borrowed) when there is none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(printable("Kitchen Light"), Cow::Borrowed("Kitchen Light")));
        assert_eq!(printable("Küche Licht 💡"), "Küche Licht 💡");
        assert_eq!(printable("a\tb\nc\rd"), "a\\tb\\nc\\rd");
        assert_eq!(printable("\u{1b}[2J\u{1b}]0;pwned\u{7}"), "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}");
        assert_eq!(printable("x\u{0}y\u{9b}z"), "x\\u{0}y\\u{9b}z");
        assert_eq!(printable("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }
}
