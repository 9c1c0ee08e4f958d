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

/// Folds a name for comparison: letters and digits only ([`fold_char`]), every other character
/// a word break, single spaces. "Kitchen-Light" → "kitchen light", "Küche" → "kueche".
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut pending_space = false;
    for c in text.chars() {
        if is_apostrophe(c) {
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
}
