//! Numbers in words, English and German, as whisper may write them: "twenty one" ("twenty-one"
//! arrives as two words), "one hundred and five", "a hundred", "einundzwanzig",
//! "zweihundertfünf", and decimals "twenty one point five", "einundzwanzig Komma fünf",
//! "21 point 5". Words are already folded ("fünf" → "fuenf"). Pure functions.

use super::Language;

const EN_SMALL: &[(&str, u32)] = &[
    ("zero", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
];

const EN_TENS: &[(&str, u32)] = &[
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fourty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

/// German units as they appear inside compounds ("ein" in "einundzwanzig").
const DE_UNITS: &[(&str, u32)] = &[
    ("ein", 1),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fuenf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
];

const DE_SMALL: &[(&str, u32)] = &[
    ("null", 0),
    ("eins", 1),
    ("zwei", 2),
    ("zwo", 2),
    ("drei", 3),
    ("vier", 4),
    ("fuenf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwoelf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("fuenfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
];

const DE_TENS: &[(&str, u32)] = &[
    ("zwanzig", 20),
    ("dreissig", 30),
    ("dreizig", 30),
    ("vierzig", 40),
    ("fuenfzig", 50),
    ("sechzig", 60),
    ("siebzig", 70),
    ("achtzig", 80),
    ("neunzig", 90),
];

fn lookup(table: &[(&str, u32)], word: &str) -> Option<u32> {
    table.iter().find(|(w, _)| *w == word).map(|&(_, v)| v)
}

/// A German number written as one word, 0–999: "einundzwanzig", "hundertfünf", "zweihundert".
pub fn german_word(word: &str) -> Option<u32> {
    if let Some(v) = german_below_100(word) {
        return Some(v);
    }
    let (before, after) = word.split_once("hundert")?;
    let hundreds = match before {
        "" | "ein" | "eins" => 1,
        unit => lookup(DE_UNITS, unit)?,
    };
    let rest = match after.strip_prefix("und").unwrap_or(after) {
        "" => 0,
        rest => german_below_100(rest)?,
    };
    Some(hundreds * 100 + rest)
}

fn german_below_100(word: &str) -> Option<u32> {
    if let Some(v) = lookup(DE_SMALL, word).or_else(|| lookup(DE_TENS, word)) {
        return Some(v);
    }
    let (unit, tens) = word.split_once("und")?;
    Some(lookup(DE_UNITS, unit)? + lookup(DE_TENS, tens)?)
}

/// English 0–99 starting at `words[i]`: "seven", "seventeen", "seventy", "seventy seven".
fn english_below_100(words: &[String], i: usize) -> Option<(u32, usize)> {
    let w = words.get(i)?;
    if let Some(tens) = lookup(EN_TENS, w) {
        if let Some(unit) = words.get(i + 1).and_then(|u| lookup(EN_SMALL, u)).filter(|u| (1..10).contains(u)) {
            return Some((tens + unit, 2));
        }
        return Some((tens, 1));
    }
    lookup(EN_SMALL, w).map(|v| (v, 1))
}

/// English 0–999 starting at `words[i]`; returns the value and the number of words used.
fn english_int(words: &[String], i: usize) -> Option<(u32, usize)> {
    let hundred_at = |j: usize| words.get(j).is_some_and(|w| w == "hundred");
    let (hundreds, mut used) = match words.get(i).map(String::as_str) {
        Some("hundred") => (1, 1),
        Some("a") if hundred_at(i + 1) => (1, 2),
        Some(w) => match lookup(EN_SMALL, w) {
            Some(v) if (1..10).contains(&v) && hundred_at(i + 1) => (v, 2),
            _ => return english_below_100(words, i),
        },
        None => return None,
    };
    let mut value = hundreds * 100;
    let and = usize::from(words.get(i + used).is_some_and(|w| w == "and"));
    if let Some((rest, n)) = english_below_100(words, i + used + and) {
        value += rest;
        used += and + n;
    }
    Some((value, used))
}

/// A whole number in words or digits starting at `words[i]`.
fn integer(words: &[String], i: usize, language: Language) -> Option<(f64, usize)> {
    let w = words.get(i)?;
    if let Some(v) = digits(w) {
        return Some((v, 1));
    }
    match language {
        Language::En => english_int(words, i).map(|(v, n)| (f64::from(v), n)),
        Language::De => german_word(w).map(|v| (f64::from(v), 1)),
        Language::Other(_) => None,
    }
}

/// A number written with digits: "21", "21.5" (the tokenizer turns "21,5" into "21.5").
pub fn digits(word: &str) -> Option<f64> {
    let ok = word.chars().next().is_some_and(|c| c.is_ascii_digit())
        && word.chars().all(|c| c.is_ascii_digit() || c == '.')
        && word.matches('.').count() <= 1
        && !word.ends_with('.');
    if ok { word.parse().ok() } else { None }
}

/// The digits after a decimal word ("point", "komma"): "5", "five", "two five", "fünfundzwanzig".
fn fraction(words: &[String], i: usize, language: Language) -> Option<(String, usize)> {
    let w = words.get(i)?;
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) {
        return Some((w.clone(), 1));
    }
    match language {
        Language::En => {
            let mut out = String::new();
            let mut n = 0;
            while let Some(d) = words.get(i + n).and_then(|w| lookup(EN_SMALL, w)).filter(|d| *d < 10) {
                out.push(char::from(b'0' + d as u8));
                n += 1;
            }
            (n > 0).then_some((out, n))
        }
        Language::De => {
            let v = german_word(w)?;
            Some((v.to_string(), 1))
        }
        Language::Other(_) => None,
    }
}

/// The number starting at `words[i]`, if any: its value and how many words it spans.
pub fn number_at(words: &[String], i: usize, language: Language) -> Option<(f64, usize)> {
    let (value, used) = integer(words, i, language)?;
    let decimal_word = match language {
        Language::En => ["point", "dot"].as_slice(),
        Language::De => ["komma", "punkt"].as_slice(),
        Language::Other(_) => [].as_slice(),
    };
    if value.fract() == 0.0
        && words.get(i + used).is_some_and(|w| decimal_word.contains(&w.as_str()))
        && let Some((frac, n)) = fraction(words, i + used + 1, language)
    {
        let v: f64 = format!("{value}.{frac}").parse().ok()?;
        return Some((v, used + 1 + n));
    }
    Some((value, used))
}

/// A number as a token: "21", "21.5".
pub fn format(value: f64) -> String {
    if value.fract() == 0.0 { format!("{}", value as i64) } else { format!("{value}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(text: &str) -> Option<(f64, usize)> {
        let words: Vec<String> = text.split(' ').map(str::to_string).collect();
        number_at(&words, 0, Language::En)
    }

    fn de(text: &str) -> Option<(f64, usize)> {
        let words: Vec<String> = text.split(' ').map(str::to_string).collect();
        number_at(&words, 0, Language::De)
    }

    #[test]
    fn english() {
        assert_eq!(en("zero"), Some((0.0, 1)));
        assert_eq!(en("seven minutes"), Some((7.0, 1)));
        assert_eq!(en("seventeen"), Some((17.0, 1)));
        assert_eq!(en("twenty one degrees"), Some((21.0, 2)));
        assert_eq!(en("fifty percent"), Some((50.0, 1)));
        assert_eq!(en("ninety nine"), Some((99.0, 2)));
        assert_eq!(en("one hundred"), Some((100.0, 2)));
        assert_eq!(en("a hundred percent"), Some((100.0, 2)));
        assert_eq!(en("hundred"), Some((100.0, 1)));
        assert_eq!(en("one hundred and twenty"), Some((120.0, 4)));
        assert_eq!(en("two hundred fifty five"), Some((255.0, 4)));
        assert_eq!(en("twenty one point five"), Some((21.5, 4)));
        assert_eq!(en("nineteen point two five"), Some((19.25, 4)));
        assert_eq!(en("21 point 5"), Some((21.5, 3)));
        assert_eq!(en("21.5"), Some((21.5, 1)));
        assert_eq!(en("one"), Some((1.0, 1)));
        assert_eq!(en("a minute"), None);
        assert_eq!(en("twenty twenty"), Some((20.0, 1)));
        assert_eq!(en("point five"), None);
        assert_eq!(en("lamp"), None);
    }

    #[test]
    fn german() {
        assert_eq!(de("null"), Some((0.0, 1)));
        assert_eq!(de("eins"), Some((1.0, 1)));
        assert_eq!(de("ein"), None, "\"ein\" is an article or a verb particle");
        assert_eq!(de("zwoelf"), Some((12.0, 1)));
        assert_eq!(de("einundzwanzig"), Some((21.0, 1)));
        assert_eq!(de("dreissig"), Some((30.0, 1)));
        assert_eq!(de("fuenfundfuenfzig"), Some((55.0, 1)));
        assert_eq!(de("neunundneunzig"), Some((99.0, 1)));
        assert_eq!(de("hundert"), Some((100.0, 1)));
        assert_eq!(de("einhundert"), Some((100.0, 1)));
        assert_eq!(de("hundertfuenf"), Some((105.0, 1)));
        assert_eq!(de("zweihundertfuenfundfuenfzig"), Some((255.0, 1)));
        assert_eq!(de("einundzwanzig komma fuenf"), Some((21.5, 3)));
        assert_eq!(de("neunzehn komma fuenfundzwanzig"), Some((19.25, 3)));
        assert_eq!(de("21 komma 5"), Some((21.5, 3)));
        assert_eq!(de("zwanzigund"), None);
        assert_eq!(de("licht"), None);
    }

    #[test]
    fn digit_tokens() {
        assert_eq!(digits("21"), Some(21.0));
        assert_eq!(digits("21.5"), Some(21.5));
        assert_eq!(digits("2.1.5"), None);
        assert_eq!(digits("21."), None);
        assert_eq!(digits("a1"), None);
        assert_eq!(format(21.0), "21");
        assert_eq!(format(21.5), "21.5");
    }
}
