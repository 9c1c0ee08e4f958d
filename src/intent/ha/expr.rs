//! Home Assistant's template language, parsed: the sentences of `home-assistant-intents` and of
//! a user's `custom_sentences/<lang>/*.yaml`.
//!
//! Written from the documented syntax (hassil's template reference) and from what hassil does
//! with it, observed by running it:
//!
//! | Syntax            | Meaning                                                              |
//! |-------------------|----------------------------------------------------------------------|
//! | `text`            | the text itself, case-insensitive; whitespace is a word gap           |
//! | `(a\|b)`          | one of the alternatives                                              |
//! | `[a\|b]`          | one of them or nothing                                               |
//! | `(a;b;c)`         | every item once, in any order, with word gaps between                |
//! | `<rule>`          | an expansion rule (the language's, or the intent data's own)         |
//! | `{list}`          | a value of a slot list, reported in slot `list`                      |
//! | `{list:slot}`     | the same, reported in slot `slot`                                    |
//! | `{1..100,5:slot}` | an inline range list (step optional)                                 |
//! | `\(`              | a literal special character                                          |
//!
//! Letters inside a word may be optional or alternative too: `light[s]`, `turn(s|ed)`.

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Literal text as written (case and spacing are folded when matching).
    Text(String),
    /// Items one after another.
    Seq(Vec<Expr>),
    /// One of several; `[x]` is `(x|)`.
    Alt(Vec<Expr>),
    /// Every item once, in any order.
    Perm(Vec<Expr>),
    /// `{list}` / `{list:slot}`.
    List {
        /// The list's name.
        list: String,
        /// The slot the value is reported in.
        slot: String,
    },
    /// `{N..M[,S]:slot}`.
    Range {
        /// First value.
        from: i64,
        /// Last value (inclusive).
        to: i64,
        /// Step.
        step: i64,
        /// The slot.
        slot: String,
    },
    /// `<rule>`.
    Rule(String),
}

impl Expr {
    /// The empty sequence (matches nothing, consumes nothing).
    pub fn empty() -> Expr {
        Expr::Seq(Vec::new())
    }
}

/// A syntax error in a template: the same error as in Hearth's own template language.
pub use crate::intent::template::SyntaxError;

/// Parses one template.
pub fn parse(template: &str) -> Result<Expr, SyntaxError> {
    let mut p = Parser { chars: template.chars().collect(), pos: 0, template };
    let expr = p.group(None)?;
    if p.pos < p.chars.len() {
        return Err(p.error(format!("unexpected {:?}", p.chars[p.pos])));
    }
    Ok(expr)
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    template: &'a str,
}

/// How the items of a group are separated.
#[derive(PartialEq, Clone, Copy)]
enum Separator {
    None,
    Alt,
    Perm,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        SyntaxError { template: self.template.to_string(), at: self.pos + 1, message: message.into() }
    }

    /// Items up to `close` (or the end): a sequence, alternatives (`|`) or a permutation (`;`).
    fn group(&mut self, close: Option<char>) -> Result<Expr, SyntaxError> {
        let mut choices: Vec<Expr> = Vec::new();
        let mut items: Vec<Expr> = Vec::new();
        let mut text = String::new();
        let mut separator = Separator::None;
        loop {
            let Some(c) = self.chars.get(self.pos).copied() else {
                if let Some(close) = close {
                    return Err(self.error(format!("missing {close:?}")));
                }
                break;
            };
            self.pos += 1;
            match c {
                '\\' => match self.chars.get(self.pos) {
                    Some(&next) => {
                        text.push(next);
                        self.pos += 1;
                    }
                    None => text.push('\\'),
                },
                '(' | '[' | '{' | '<' => {
                    flush(&mut text, &mut items);
                    items.push(match c {
                        '(' => self.group(Some(')'))?,
                        '[' => match self.group(Some(']'))? {
                            Expr::Alt(mut alts) => {
                                alts.push(Expr::empty());
                                Expr::Alt(alts)
                            }
                            other => Expr::Alt(vec![other, Expr::empty()]),
                        },
                        '{' => self.list()?,
                        _ => self.rule()?,
                    });
                }
                '|' | ';' => {
                    let kind = if c == '|' { Separator::Alt } else { Separator::Perm };
                    if separator != Separator::None && separator != kind {
                        return Err(self.error("'|' and ';' mixed in one group"));
                    }
                    separator = kind;
                    flush(&mut text, &mut items);
                    choices.push(sequence(std::mem::take(&mut items)));
                }
                ')' | ']' if Some(c) == close => break,
                ')' | ']' | '}' | '>' => return Err(self.error(format!("unexpected {c:?}"))),
                c => text.push(c),
            }
        }
        flush(&mut text, &mut items);
        let last = sequence(items);
        Ok(match separator {
            Separator::None => last,
            Separator::Alt => {
                choices.push(last);
                Expr::Alt(choices)
            }
            Separator::Perm => {
                choices.push(last);
                Expr::Perm(choices)
            }
        })
    }

    /// `{list}`, `{list:slot}` or `{N..M[,S][:slot]}`, after the `{`.
    fn list(&mut self) -> Result<Expr, SyntaxError> {
        let body = self.until('}')?;
        let (list, slot) = match body.split_once(':') {
            Some((l, s)) => (l.trim().to_string(), s.trim().to_string()),
            None => (body.trim().to_string(), body.trim().to_string()),
        };
        if list.is_empty() || slot.is_empty() {
            return Err(self.error("empty list or slot name"));
        }
        if let Some((from, rest)) = list.split_once("..") {
            let (to, step) = rest.split_once(',').unwrap_or((rest, "1"));
            let number = |t: &str| t.trim().parse::<i64>().ok();
            return match (number(from), number(to), number(step)) {
                (Some(from), Some(to), Some(step)) if step > 0 && from <= to => {
                    let slot = if slot == list { format!("{from}..{to}") } else { slot };
                    Ok(Expr::Range { from, to, step, slot })
                }
                _ => Err(self.error(format!("{{{list}}} is not a range N..M or N..M,STEP"))),
            };
        }
        Ok(Expr::List { list, slot })
    }

    /// `<rule>`, after the `<`.
    fn rule(&mut self) -> Result<Expr, SyntaxError> {
        let name = self.until('>')?.trim().to_string();
        if name.is_empty() {
            return Err(self.error("empty rule name"));
        }
        Ok(Expr::Rule(name))
    }

    fn until(&mut self, close: char) -> Result<String, SyntaxError> {
        let start = self.pos;
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if c == close {
                return Ok(self.chars[start..self.pos - 1].iter().collect());
            }
            if matches!(c, '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '|') {
                break;
            }
        }
        Err(self.error(format!("missing {close:?}")))
    }
}

fn flush(text: &mut String, items: &mut Vec<Expr>) {
    if !text.is_empty() {
        items.push(Expr::Text(std::mem::take(text)));
    }
}

fn sequence(mut items: Vec<Expr>) -> Expr {
    if items.len() == 1 { items.pop().unwrap_or_else(Expr::empty) } else { Expr::Seq(items) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Expr {
        Expr::Text(s.into())
    }

    #[test]
    fn words_alternatives_optionals_and_permutations() {
        assert_eq!(
            parse("turn (on|off) [the] light[s]").unwrap(),
            Expr::Seq(vec![
                t("turn "),
                Expr::Alt(vec![t("on"), t("off")]),
                t(" "),
                Expr::Alt(vec![t("the"), Expr::empty()]),
                t(" light"),
                Expr::Alt(vec![t("s"), Expr::empty()]),
            ])
        );
        assert_eq!(parse("(on;<here>)").unwrap(), Expr::Perm(vec![t("on"), Expr::Rule("here".into())]));
        assert_eq!(parse("[a|b]").unwrap(), Expr::Alt(vec![t("a"), t("b"), Expr::empty()]));
    }

    #[test]
    fn lists_slots_and_inline_ranges() {
        assert_eq!(parse("{name}").unwrap(), Expr::List { list: "name".into(), slot: "name".into() });
        assert_eq!(
            parse("{cover_classes:device_class}").unwrap(),
            Expr::List { list: "cover_classes".into(), slot: "device_class".into() }
        );
        assert_eq!(
            parse("{10..100,10:seconds}").unwrap(),
            Expr::Range { from: 10, to: 100, step: 10, slot: "seconds".into() }
        );
    }

    #[test]
    fn escapes_are_literal_and_errors_say_where() {
        assert_eq!(parse(r"a \(b\)").unwrap(), t("a (b)"));
        let err = parse("turn (on|off").unwrap_err();
        assert!(err.message.contains("missing ')'"), "{err}");
        assert!(parse("(a|b;c)").is_err());
        assert!(parse("a)").is_err());
        assert!(parse("{}").is_err());
    }
}
