//! Folding of names for comparison: what a person says and what a device is called meet here.
//! Pure string functions, shared by the registry (keys) and intent recognition (transcripts).

/// Appends the folded form of one character: lower case, German umlauts and ß spelled out
/// (`ä` → `ae`, `ß` → `ss`), accents dropped. Characters that are not letters or digits give
/// `None` (the caller decides whether they separate words).
pub fn fold_char(c: char, out: &mut String) -> Option<()> {
    if c.is_ascii_alphanumeric() {
        out.push(c.to_ascii_lowercase());
        return Some(());
    }
    if is_fullwidth_latin(c) {
        let ascii = char::from_u32(c as u32 - 0xFEE0).unwrap_or(c);
        out.push(ascii.to_ascii_lowercase());
        return Some(());
    }
    let spelled = match c {
        'ä' | 'Ä' | 'æ' | 'Æ' => "ae",
        'ö' | 'Ö' | 'ø' | 'Ø' | 'œ' | 'Œ' => "oe",
        'ü' | 'Ü' => "ue",
        'ß' | 'ẞ' => "ss",
        'á' | 'à' | 'â' | 'å' | 'ã' | 'Á' | 'À' | 'Â' | 'Å' | 'Ã' => "a",
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => "e",
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => "i",
        'ó' | 'ò' | 'ô' | 'õ' | 'Ó' | 'Ò' | 'Ô' | 'Õ' => "o",
        'ú' | 'ù' | 'û' | 'Ú' | 'Ù' | 'Û' => "u",
        'ñ' | 'Ñ' => "n",
        'ç' | 'Ç' => "c",
        _ if c.is_alphanumeric() => {
            out.extend(c.to_lowercase());
            return Some(());
        }
        _ => return None,
    };
    out.push_str(spelled);
    Some(())
}

/// Whether `c` is an apostrophe, which joins a word instead of splitting it ("Kid's" = "kids").
pub fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | '`' | '´')
}

/// Whether `c` is invisible when printed: zero-width spaces and joiners, soft hyphen, bidi
/// controls, word joiner and invisible operators, byte-order mark, variation selectors, tag
/// characters, fillers. In a name such a character hides a difference the eye cannot see.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Whether `c` prints as a plain space but is another character (no-break, em, ideographic
/// space ...), or is a line or paragraph separator.
fn is_odd_space(c: char) -> bool {
    c != ' ' && c.is_whitespace() && !c.is_ascii_control()
}

/// Whether a letter is Greek or Cyrillic, scripts with letters that look like Latin ones.
fn is_greek_or_cyrillic(c: char) -> bool {
    matches!(c, '\u{0370}'..='\u{03FF}' | '\u{0400}'..='\u{052F}' | '\u{1F00}'..='\u{1FFF}') && c.is_alphabetic()
}

/// Whether a name is written to look like something it is not: it holds invisible characters
/// ([`is_invisible`]), control characters, spaces other than the plain one, full-width Latin
/// letters, or a word that mixes Latin letters with Greek or Cyrillic ones ("Frоnt" with a
/// Cyrillic "о"). Such a name answers to plain speech only when no plainly written name does,
/// and an allow-list names it only by id.
pub fn is_disguised(name: &str) -> bool {
    if name.chars().any(|c| is_invisible(c) || c.is_control() || is_odd_space(c) || is_fullwidth_latin(c)) {
        return true;
    }
    name.split(|c: char| !c.is_alphanumeric())
        .any(|word| word.chars().any(|c| c.is_ascii_alphabetic()) && word.chars().any(is_greek_or_cyrillic))
}

/// Full-width Latin letters and digits (U+FF10–U+FF5A), which fold to their ASCII forms.
fn is_fullwidth_latin(c: char) -> bool {
    matches!(c, '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}')
}

/// A name (or any text from a device) made safe to print in a log line or on a terminal:
/// control characters, invisible characters and odd spaces are written as escapes (`\t`,
/// `\n`, `\u{200b}`), so an ESC sequence cannot reach the terminal and a look-alike shows
/// what it hides; a backslash is doubled so an escape cannot be faked. Everything else is
/// printed as is. `format!("{}", Escaped(name))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\t' => f.write_str("\\t")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                c if c.is_control() || is_invisible(c) || is_odd_space(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Folds a name for comparison: letters and digits only ([`fold_char`]), every other character
/// a word break, single spaces; invisible characters ([`is_invisible`]) and apostrophes are
/// dropped. "Kitchen-Light" → "kitchen light", "Küche" → "kueche", "Kü\u{AD}che" → "kueche".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut pending_space = false;
    for c in text.chars() {
        if is_apostrophe(c) || is_invisible(c) {
            continue;
        }
        let len = out.len();
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        if fold_char(c, &mut out).is_some() {
            pending_space = false;
        } else {
            out.truncate(len);
            pending_space = true;
        }
    }
    out
}

/// A folded name in the forms fuzzy comparison needs, computed once: the registry keeps one
/// per name, and a transcript span is spelled once per span, not once per comparison.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spelled {
    /// Folded text with single spaces ("living room").
    pub text: String,
    /// Without spaces ("livingroom"): whisper splits and joins words at will.
    pub joined: String,
    /// Rough sound key of the whole name ([`sound_key`]).
    pub sound: String,
    /// The words.
    pub words: Vec<String>,
    /// The sound key of each word.
    pub word_sounds: Vec<String>,
}

impl Spelled {
    /// Spells an already folded text ([`fold`]).
    pub fn new(folded: &str) -> Spelled {
        let words: Vec<String> = folded.split_whitespace().map(str::to_string).collect();
        Spelled {
            text: words.join(" "),
            joined: words.concat(),
            sound: words.iter().map(|w| sound_key(w)).collect(),
            word_sounds: words.iter().map(|w| sound_key(w)).collect(),
            words,
        }
    }
}

/// A rough sound key of one folded word, forgiving spellings of the same sound in English and
/// German: "ght"/"t", "ph"/"f", "ck"/"k", "th"/"t", "dt"/"t", "tz"/"z", "y"/"i", "ie"/"ee"/"i",
/// c (not before h) / k, z / s, v / f, doubled letters, and a final "e".
pub fn sound_key(word: &str) -> String {
    let w = word
        .replace("ght", "t")
        .replace("ph", "f")
        .replace("ck", "k")
        .replace("th", "t")
        .replace("dt", "t")
        .replace("tz", "z")
        .replace("qu", "kw")
        .replace('y', "i")
        .replace("ie", "i")
        .replace("ee", "i");
    let chars: Vec<char> = w.chars().collect();
    let mut out = String::with_capacity(w.len());
    let mut prev = None;
    for (i, &c) in chars.iter().enumerate() {
        let c = match c {
            'c' if chars.get(i + 1) != Some(&'h') => 'k',
            'z' => 's',
            'v' => 'f',
            other => other,
        };
        if prev != Some(c) {
            out.push(c);
        }
        prev = Some(c);
    }
    if out.len() > 3 && out.ends_with('e') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_forms() {
        let s = Spelled::new("kitchen light");
        assert_eq!((s.joined.as_str(), s.sound.as_str()), ("kitchenlight", "kitchenlit"));
        assert_eq!(s.words, ["kitchen", "light"]);
        assert_eq!(s.word_sounds, ["kitchen", "lit"]);
        assert_eq!(sound_key("lite"), "lit");
        assert_eq!(sound_key("stehlampe"), "stehlamp");
        assert_eq!(sound_key("kaffee"), "kafi");
    }

    #[test]
    fn folds_case_punctuation_umlauts() {
        assert_eq!(fold("Kitchen-Light"), "kitchen light");
        assert_eq!(fold("  Küche  "), "kueche");
        assert_eq!(fold("Straße/Außen (Süd)"), "strasse aussen sued");
        assert_eq!(fold("Kid's Room"), "kids room");
        assert_eq!(fold("Lamp 2."), "lamp 2");
        assert_eq!(fold("Café"), "cafe");
        assert_eq!(fold("..."), "");
    }

    #[test]
    fn invisible_characters_vanish_in_folding() {
        assert_eq!(fold("Kitchen\u{200b} Light"), "kitchen light");
        assert_eq!(fold("Kitchen\u{200b}Light"), "kitchenlight");
        assert_eq!(fold("Kü\u{ad}che"), "kueche");
        assert_eq!(fold("\u{feff}Front\u{2060} Door\u{202e}"), "front door");
        assert_eq!(fold("Ｋitchen Ｌight"), "kitchen light");
    }

    #[test]
    fn disguised_names() {
        for name in [
            "Kitchen\u{200b} Light",
            "Kitchen\u{200c}Light",
            "Ki\u{ad}tchen Light",
            "Kitchen\u{a0}Light",
            "Kitchen\tLight",
            "Front Door\u{feff}",
            "\u{202e}thgiL nehctiK",
            "Fr\u{43e}nt Door",
            "Ｋitchen",
        ] {
            assert!(is_disguised(name), "{name:?}");
        }
        for name in ["Kitchen Light", "Küche", "Wohnzimmer-Lampe", "Свет", "Φως", "Lamp 2", "Kid's Room"] {
            assert!(!is_disguised(name), "{name:?}");
        }
    }

    #[test]
    fn escaping_for_logs() {
        let escape_name = |name: &str| Escaped(name).to_string();
        assert_eq!(escape_name("Kitchen Light"), "Kitchen Light");
        assert_eq!(escape_name("Küche"), "Küche");
        assert_eq!(escape_name("a\tb\nc\r"), "a\\tb\\nc\\r");
        assert_eq!(escape_name("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape_name("Kitchen\u{200b} Light"), "Kitchen\\u{200b} Light");
        assert_eq!(escape_name("x\u{202e}y\u{a0}z\u{85}"), "x\\u{202e}y\\u{a0}z\\u{85}");
        assert_eq!(escape_name(r"back\slash"), r"back\\slash");
    }
}
