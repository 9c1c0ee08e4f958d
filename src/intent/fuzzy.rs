//! Fuzzy comparison of a spoken name with a registered one, for whisper's small mishearings
//! ("kitchen lite", "Stell Lampe" for "Stehlampe"). Two spellings are compared: the folded
//! letters without spaces ("living room" = "livingroom"), and a rough sound key that
//! forgives spelling of the same sound ("ght"/"t", "ph"/"f", "ck"/"k", doubled letters,
//! a final "e"). The number of edits allowed grows with the length of the name, from none
//! for names under five letters to three for long ones, so short words never match by accident.

use crate::home::Spelled;

/// The similarity in (0, 1] of a spoken name with a registered one, or `None` if they are
/// too far apart to be the same name. With the same number of words, every word must be close
/// to its counterpart ("bedroom light" is not "bathroom light").
pub fn similarity(spoken: &Spelled, registered: &Spelled) -> Option<f32> {
    let (a, b) = (spoken.joined.as_bytes(), registered.joined.as_bytes());
    if a == b {
        return Some(1.0);
    }
    let longest = a.len().max(b.len());
    let (pa, pb) = (spoken.sound.as_bytes(), registered.sound.as_bytes());
    let sound_longest = pa.len().max(pb.len());
    // Cheap rejection on length alone, before any distance is computed.
    if a.len().abs_diff(b.len()) > allowed_edits(longest)
        && pa.len().abs_diff(pb.len()) > allowed_sound_edits(sound_longest)
    {
        return None;
    }
    let (sw, rw) = (&spoken.words, &registered.words);
    if sw.len() == rw.len()
        && sw.len() > 1
        && !(0..sw.len()).all(|i| words_close(&sw[i], &rw[i], &spoken.word_sounds[i], &registered.word_sounds[i]))
    {
        return None;
    }
    let mut best: Option<f32> = None;
    if let Some(d) = bounded_levenshtein(a, b, allowed_edits(longest)) {
        best = Some(1.0 - d as f32 / longest as f32);
    }
    if sound_longest > 0
        && pa.first() == pb.first()
        && let Some(d) = bounded_levenshtein(pa, pb, allowed_sound_edits(sound_longest))
    {
        // A sound match counts slightly less than a spelling match of the same distance.
        let s = 0.97 * (1.0 - d as f32 / sound_longest as f32);
        best = Some(best.map_or(s, |b| b.max(s)));
    }
    best
}

/// Whether two single words may be the same word misheard.
fn words_close(a: &str, b: &str, sound_a: &str, sound_b: &str) -> bool {
    if a == b {
        return true;
    }
    let longest = a.len().max(b.len());
    if bounded_levenshtein(a.as_bytes(), b.as_bytes(), allowed_edits(longest)).is_some() {
        return true;
    }
    let (pa, pb) = (sound_a.as_bytes(), sound_b.as_bytes());
    pa.first() == pb.first() && bounded_levenshtein(pa, pb, allowed_sound_edits(pa.len().max(pb.len()))).is_some()
}

/// Edits allowed between names of this many letters.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..5 => 0,
        5..9 => 1,
        9..14 => 2,
        _ => 3,
    }
}

/// Edits allowed between sound keys: one fewer, as the key already forgives spelling.
fn allowed_sound_edits(len: usize) -> usize {
    allowed_edits(len).saturating_sub(1)
}

/// Levenshtein distance of `a` and `b` if it is at most `max`: [`crate::measure`]'s banded
/// edit distance, over bytes.
pub fn bounded_levenshtein(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    crate::measure::edit_distance_within(a, b, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lev(a: &str, b: &str) -> Option<usize> {
        bounded_levenshtein(a.as_bytes(), b.as_bytes(), 10)
    }

    #[test]
    fn levenshtein() {
        assert_eq!(lev("kitten", "sitting"), Some(3));
        assert_eq!(lev("", "abc"), Some(3));
        assert_eq!(lev("abc", "abc"), Some(0));
        assert_eq!(lev("flaw", "lawn"), Some(2));
        assert_eq!(bounded_levenshtein(b"kitten", b"sitting", 2), None);
        assert_eq!(bounded_levenshtein(b"abcdef", b"ab", 3), None);
        assert_eq!(bounded_levenshtein(b"bathroom", b"bedroom", 3), Some(3));
        let long_a = "a".repeat(100) + "b";
        let long_b = "a".repeat(100) + "c";
        assert_eq!(bounded_levenshtein(long_a.as_bytes(), long_b.as_bytes(), 2), Some(1));
    }

    fn similarity(a: &str, b: &str) -> Option<f32> {
        super::similarity(&Spelled::new(a), &Spelled::new(b))
    }

    #[test]
    fn similar_names_match() {
        assert_eq!(similarity("kitchen light", "kitchen light"), Some(1.0));
        assert_eq!(similarity("livingroom lamp", "living room lamp"), Some(1.0));
        for (spoken, name) in [
            ("kitchen lite", "kitchen light"),
            ("kichen light", "kitchen light"),
            ("stell lampe", "stehlampe"),
            ("wohn zimmer", "wohnzimmer"),
            ("kueche", "kuche"),
            ("philips hue", "phillips hue"),
            ("hallway lamp", "hallway lamps"),
        ] {
            let s = similarity(spoken, name);
            assert!(s.is_some_and(|s| s >= 0.75), "{spoken} ~ {name}: {s:?}");
        }
    }

    #[test]
    fn different_names_do_not() {
        for (spoken, name) in [
            ("fan", "tv"),
            ("lamp", "lamb"),
            ("bedroom light", "bathroom lights"),
            ("office", "offices lamp"),
            ("weather", "heater"),
            ("the kitchen light", "kitchen"),
            ("oven", "fan"),
            ("bedroom light", "bathroom light"),
            ("lamp 3", "lamp 2"),
        ] {
            assert_eq!(similarity(spoken, name), None, "{spoken} !~ {name}");
        }
    }
}
