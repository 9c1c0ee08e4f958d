//! From whisper's text to the words templates are matched against: case and punctuation
//! dropped, umlauts spelled out, hyphens split ("Kitchen-Light"), "50%" → "50 percent",
//! "21°C" → "21 degrees", contractions spelled out ("what's" → "what is"), filler dropped
//! ("please", "could you", "bitte", "mal"), German compounds of an area and a device word split
//! ("Küchenlicht" → "küche licht"), and numbers in words turned into digits
//! ("twenty-one" → "21", "einundzwanzig Komma fünf" → "21.5"). Pure functions.

use std::collections::{HashMap, HashSet};

use crate::home::{EntityRegistry, fold_char, is_apostrophe};

use super::Language;
use super::numbers;

/// One word after normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The folded word, or a number in digits ("21", "21.5").
    pub text: String,
    /// The value, when the token is a number.
    pub number: Option<f64>,
    /// The words (in [`Normalized::words`]) it came from: `start..end`.
    pub source: (usize, usize),
}

/// A normalised transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// Folded words before numbers were joined ("twenty", "one"): names are compared
    /// against these too, so "Lamp Two" still matches "lamp two".
    pub words: Vec<String>,
    /// The tokens templates are matched against.
    pub tokens: Vec<Token>,
}

impl Normalized {
    /// The source words of tokens `from..to`, joined by spaces.
    pub fn source_text(&self, from: usize, to: usize) -> String {
        let start = self.tokens[from].source.0;
        let end = self.tokens[to - 1].source.1;
        self.words[start..end].join(" ")
    }

    /// The tokens `from..to` joined by spaces.
    pub fn token_text(&self, from: usize, to: usize) -> String {
        let parts: Vec<&str> = self.tokens[from..to].iter().map(|t| t.text.as_str()).collect();
        parts.join(" ")
    }
}

/// Per-language normalisation data (from the `[normalize]` tables of the sentence files).
#[derive(Debug, Clone)]
pub struct Normalizer {
    /// Language (number words).
    pub language: Language,
    /// Words dropped wherever they occur.
    pub filler_words: HashSet<String>,
    /// Phrases dropped at the start.
    pub filler_prefixes: Vec<Vec<String>>,
    /// Phrases dropped at the end.
    pub filler_suffixes: Vec<Vec<String>>,
    /// Words replaced by phrases ("whats" → "what is").
    pub replacements: HashMap<String, Vec<String>>,
    /// The word for "%".
    pub percent: String,
    /// The word for "°".
    pub degrees: String,
    /// Device words that may be glued to an area name ("licht" in "küchenlicht").
    pub compound_suffixes: HashSet<String>,
}

/// Splits raw text into folded words. Digits keep a decimal point or comma between digits
/// ("21.5", "21,5" → "21.5"); "%" and "°" become words of their own; apostrophes join.
fn split_words(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        if is_apostrophe(c) {
            continue;
        }
        let digit_before = current.chars().last().is_some_and(|p| p.is_ascii_digit())
            && current.chars().all(|p| p.is_ascii_digit() || p == '.');
        let digit_after = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if (c == '.' || c == ',') && digit_before && digit_after && !current.contains('.') {
            current.push('.');
            continue;
        }
        if c == '%' || c == '°' {
            flush(&mut current, &mut words);
            words.push(c.to_string());
            continue;
        }
        // A letter straight after digits starts a new word ("21c", "5min").
        if c.is_alphabetic() && current.chars().last().is_some_and(|p| p.is_ascii_digit()) {
            flush(&mut current, &mut words);
        }
        if c.is_ascii_digit() && current.chars().last().is_some_and(char::is_alphabetic) {
            flush(&mut current, &mut words);
        }
        if fold_char(c, &mut current).is_none() {
            flush(&mut current, &mut words);
        }
    }
    flush(&mut current, &mut words);
    words
}

fn strip_phrases(words: &mut Vec<String>, phrases: &[Vec<String>], at_start: bool) {
    loop {
        let hit = phrases.iter().find(|p| {
            !p.is_empty() && p.len() <= words.len() && if at_start { words.starts_with(p) } else { words.ends_with(p) }
        });
        match hit {
            Some(p) if p.len() < words.len() => {
                if at_start {
                    words.drain(..p.len());
                } else {
                    words.truncate(words.len() - p.len());
                }
            }
            _ => break,
        }
    }
}

impl Normalizer {
    /// Normalises a transcript. `registry` supplies the area names for splitting compounds.
    pub fn normalize(&self, text: &str, registry: &EntityRegistry) -> Normalized {
        let mut words = Vec::new();
        for w in split_words(text) {
            match self.replacements.get(&w) {
                Some(phrase) => words.extend(phrase.iter().cloned()),
                None => words.push(w),
            }
        }
        // Phrases first ("ich hätte gern" holds the filler word "gern"), then words, then the
        // phrases the dropped words uncovered ("bitte kannst du").
        strip_phrases(&mut words, &self.filler_prefixes, true);
        strip_phrases(&mut words, &self.filler_suffixes, false);
        words.retain(|w| !self.filler_words.contains(w));
        strip_phrases(&mut words, &self.filler_prefixes, true);
        strip_phrases(&mut words, &self.filler_suffixes, false);
        let words = self.split_compounds(words, registry);

        let mut tokens = Vec::with_capacity(words.len());
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            if w == "%" || w == "°" {
                let text = if w == "%" { self.percent.clone() } else { self.degrees.clone() };
                // "°C", "° Celsius": the unit letter goes with the sign.
                let unit = w == "°" && words.get(i + 1).is_some_and(|u| u == "c");
                let used = 1 + usize::from(unit);
                tokens.push(Token { text, number: None, source: (i, i + used) });
                i += used;
                continue;
            }
            if let Some((value, used)) = numbers::number_at(&words, i, self.language) {
                tokens.push(Token { text: numbers::format(value), number: Some(value), source: (i, i + used) });
                i += used;
                continue;
            }
            tokens.push(Token { text: w.clone(), number: None, source: (i, i + 1) });
            i += 1;
        }
        Normalized { words, tokens }
    }

    /// "kuechenlicht" → "kueche licht" when "kueche" is an area and "licht" a device word or a
    /// word of some entity name. Words that are themselves part of a name stay whole.
    fn split_compounds(&self, words: Vec<String>, registry: &EntityRegistry) -> Vec<String> {
        if self.compound_suffixes.is_empty() {
            return words;
        }
        let mut out = Vec::with_capacity(words.len() + 1);
        'words: for w in words {
            if w.len() >= 6 && !registry.knows_word(&w) {
                for area in registry.areas() {
                    if area.key.contains(' ') {
                        continue;
                    }
                    let Some(rest) = w.strip_prefix(area.key.as_str()) else { continue };
                    for joint in ["", "n", "s", "es", "en"] {
                        let Some(tail) = rest.strip_prefix(joint) else { continue };
                        if tail.len() >= 3 && (self.compound_suffixes.contains(tail) || registry.knows_word(tail)) {
                            out.push(area.key.clone());
                            out.push(tail.to_string());
                            continue 'words;
                        }
                    }
                }
            }
            out.push(w);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home::{Entity, Kind};

    fn normalizer(language: Language) -> Normalizer {
        let phrases = |ps: &[&str]| ps.iter().map(|p| p.split(' ').map(str::to_string).collect()).collect();
        Normalizer {
            language,
            filler_words: ["please", "bitte", "mal", "hey"].iter().map(|s| s.to_string()).collect(),
            filler_prefixes: phrases(&["could you", "can you", "kannst du"]),
            filler_suffixes: phrases(&["for me", "thanks"]),
            replacements: [("whats".to_string(), vec!["what".to_string(), "is".to_string()])].into_iter().collect(),
            percent: if language == Language::En { "percent" } else { "prozent" }.into(),
            degrees: if language == Language::En { "degrees" } else { "grad" }.into(),
            compound_suffixes: ["licht", "lampe"].iter().map(|s| s.to_string()).collect(),
        }
    }

    fn texts(n: &Normalized) -> Vec<&str> {
        n.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn splits_words() {
        assert_eq!(split_words("Turn on the Kitchen-Light."), ["turn", "on", "the", "kitchen", "light"]);
        assert_eq!(split_words("Set it to 50%!"), ["set", "it", "to", "50", "%"]);
        assert_eq!(split_words("21,5°C"), ["21.5", "°", "c"]);
        assert_eq!(split_words("at 21.5, please"), ["at", "21.5", "please"]);
        assert_eq!(split_words("5min"), ["5", "min"]);
        assert_eq!(split_words("What's up, Straße?"), ["whats", "up", "strasse"]);
        assert_eq!(split_words("1,2,3"), ["1.2", "3"]);
    }

    #[test]
    fn english() {
        let n = normalizer(Language::En);
        let r = EntityRegistry::new();
        let out = n.normalize("Hey, could you set the Kitchen-Light to fifty-five % please, thanks.", &r);
        assert_eq!(texts(&out), ["set", "the", "kitchen", "light", "to", "55", "percent"]);
        assert_eq!(out.tokens[5].number, Some(55.0));
        assert_eq!(out.source_text(5, 6), "fifty five");
        let out = n.normalize("What's the temperature? Twenty one point five °C", &r);
        assert_eq!(texts(&out), ["what", "is", "the", "temperature", "21.5", "degrees"]);
        let out = n.normalize("please", &r);
        assert!(out.tokens.is_empty());
        assert_eq!(texts(&n.normalize("can you", &r)), ["can", "you"], "a filler phrase alone is kept");
    }

    #[test]
    fn german_compounds_and_numbers() {
        let n = normalizer(Language::De);
        let mut r = EntityRegistry::new();
        r.insert(Entity { area: Some("Küche".into()), ..Entity::new("a", "Deckenlampe", Kind::Light) });
        r.insert(Entity { area: Some("Bad".into()), ..Entity::new("b", "Spiegel", Kind::Light) });
        let out = n.normalize("Kannst du mal das Küchenlicht auf einundzwanzig Komma fünf Prozent stellen?", &r);
        assert_eq!(texts(&out), ["das", "kueche", "licht", "auf", "21.5", "prozent", "stellen"]);
        let out = n.normalize("Badlicht an", &r);
        assert_eq!(texts(&out), ["bad", "licht", "an"]);
        let out = n.normalize("Küchendeckenlampe an", &r);
        assert_eq!(texts(&out), ["kueche", "deckenlampe", "an"]);
        let out = n.normalize("Deckenlampe an", &r);
        assert_eq!(texts(&out), ["deckenlampe", "an"], "a name is never split");
        let out = n.normalize("Badewanne", &r);
        assert_eq!(texts(&out), ["badewanne"]);
    }
}
