//! Guards on whisper's output for short commands: skip clips with no sound at all, strip
//! non-speech annotations, collapse repetition loops, and drop the phrases whisper is known to
//! invent on silence or noise. Pure functions over samples and text; no I/O.

/// Why a transcript came out empty. Carries no speech, so it may be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The clip holds no sound loud enough to be speech; whisper was not run.
    Silence,
    /// whisper itself judged the clip to hold no speech (see [`is_no_speech`]).
    NoSpeech,
    /// whisper produced only annotations or punctuation ("\[BLANK_AUDIO\]", "(buzzing)", "...").
    NoWords,
    /// whisper produced a phrase it is known to invent on silence or noise ("Thank you.").
    Hallucination,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dropped::Silence => "silence",
            Dropped::NoSpeech => "no speech",
            Dropped::NoWords => "no words",
            Dropped::Hallucination => "known hallucination",
        })
    }
}

/// Frame length for the loudness check: 30 ms at 16 kHz.
const FRAME: usize = 480;
/// RMS of the loudest frame below which a clip is silence (about −54 dBFS). Speech at normal
/// distance from a USB microphone peaks 20–40 dB above this.
const SILENCE_RMS: f32 = 0.002;

/// Whether no 30 ms frame of the clip is louder than `SILENCE_RMS`.
pub fn is_silent(audio: &[f32]) -> bool {
    audio.chunks(FRAME).all(|frame| {
        let energy: f32 = frame.iter().map(|x| x * x).sum::<f32>() / frame.len() as f32;
        energy.sqrt() < SILENCE_RMS
    })
}

/// whisper's no-speech probability above which a clip is suspect (whisper's own default).
const NO_SPEECH_PROB: f32 = 0.6;
/// Mean token log-probability below which a suspect clip is dropped. whisper.cpp drops at −1.0;
/// a steady hum (50 Hz) decoded at −0.65 with no-speech 0.94, while clear commands decode
/// above −0.4 and even two-word ones ("never mind") with no-speech below 0.2.
const SUSPECT_LOGPROB: f32 = -0.5;

/// Whether whisper's own scores say the clip is not speech.
pub fn is_no_speech(no_speech_prob: f32, avg_logprob: f32) -> bool {
    no_speech_prob > NO_SPEECH_PROB && avg_logprob < SUSPECT_LOGPROB
}

/// Phrases whisper emits for silence, music or noise (from its YouTube-subtitle training data),
/// compared after [`normalize`]. None is a voice command, so dropping them loses nothing.
const HALLUCINATIONS: &[&str] = &[
    "thank you",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "you",
    "bye",
    "so",
    "oh",
    "uh",
    "um",
    "hmm",
    "vielen dank",
    "danke",
    "tschüss",
    "vielen dank fürs zuschauen",
    "untertitel der amaraorg-community",
    "untertitel im auftrag des zdf für funk 2017",
    "untertitelung des zdf 2020",
    "untertitel im auftrag des zdf 2017",
];

/// Cleans whisper's raw text. Returns the text to use (possibly empty) and why it is empty.
pub fn clean(raw: &str) -> (String, Option<Dropped>) {
    let stripped = strip_annotations(raw);
    let words: Vec<&str> = stripped.split_whitespace().collect();
    let kept = collapse_repeats(&words);
    let text = kept.join(" ");
    let norm = normalize(&text);
    if norm.is_empty() {
        return (String::new(), Some(Dropped::NoWords));
    }
    if HALLUCINATIONS.contains(&norm.as_str()) || norm.starts_with("untertitel") {
        return (String::new(), Some(Dropped::Hallucination));
    }
    (text, None)
}

/// Removes `[...]`, `(...)`, `*...*` annotations and music symbols.
fn strip_annotations(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut closing: Option<char> = None;
    for c in raw.chars() {
        match closing {
            Some(end) if c == end => closing = None,
            Some(_) => {}
            None => match c {
                '[' => closing = Some(']'),
                '(' => closing = Some(')'),
                '*' => closing = Some('*'),
                '♪' | '♫' | '♬' => {}
                _ => out.push(c),
            },
        }
    }
    out
}

/// Lower-case, letters/digits/spaces/'-' only, single spaces.
pub fn normalize(text: &str) -> String {
    let kept: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '-')
        .flat_map(char::to_lowercase)
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses a word sequence repeated back to back: a block of three or more words repeated
/// twice, or a shorter block repeated three times ("on on on"), is kept once. "very very" stays.
pub fn collapse_repeats<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let norm: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for n in 1..=(words.len() - i) / 2 {
            let block = &norm[i..i + n];
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len() && norm[i + reps * n..i + (reps + 1) * n] == *block {
                reps += 1;
            }
            // A loop cut off by the token cap leaves a partial block behind: swallow it too.
            let mut end = i + reps * n;
            if reps >= 2 {
                let tail = (words.len() - end).min(n - 1);
                if tail > 0 && norm[end..end + tail] == block[..tail] && end + tail == words.len() {
                    end += tail;
                }
            }
            if (n >= 3 && reps >= 2) || reps >= 3 {
                out.extend_from_slice(&words[i..i + n]);
                i = end;
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_quiet_hum_are_silent_speechlike_level_is_not() {
        assert!(is_silent(&[0.0; 16000]));
        let hum: Vec<f32> = (0..16000).map(|i| 0.001 * (i as f32 * 0.1).sin()).collect();
        assert!(is_silent(&hum));
        let mut loud = vec![0.0; 16000];
        for (i, x) in loud[8000..8480].iter_mut().enumerate() {
            *x = 0.05 * (i as f32 * 0.3).sin();
        }
        assert!(!is_silent(&loud));
        assert!(is_silent(&[]));
    }

    #[test]
    fn no_speech_needs_both_scores() {
        assert!(is_no_speech(0.94, -0.65));
        assert!(!is_no_speech(0.94, -0.2), "confident text stays");
        assert!(!is_no_speech(0.17, -0.94), "short commands decode with low confidence");
    }

    #[test]
    fn repetition_loops_collapse() {
        let words: Vec<&str> = "Turn on the kitchen light. Turn on the kitchen light. Turn on the kitchen light."
            .split_whitespace()
            .collect();
        assert_eq!(collapse_repeats(&words).join(" "), "Turn on the kitchen light.");
        let words: Vec<&str> = "turn on on on the light".split_whitespace().collect();
        assert_eq!(collapse_repeats(&words).join(" "), "turn on the light");
        let words: Vec<&str> = "set it very very low".split_whitespace().collect();
        assert_eq!(collapse_repeats(&words).join(" "), "set it very very low");
        let words: Vec<&str> = "Licht an. Licht an. Licht an. Licht".split_whitespace().collect();
        assert_eq!(collapse_repeats(&words).join(" "), "Licht an.");
    }

    #[test]
    fn annotations_and_hallucinations_are_dropped() {
        assert_eq!(clean(" [BLANK_AUDIO]"), (String::new(), Some(Dropped::NoWords)));
        assert_eq!(clean(" (buzzing) ♪"), (String::new(), Some(Dropped::NoWords)));
        assert_eq!(clean(" Thank you."), (String::new(), Some(Dropped::Hallucination)));
        assert_eq!(clean(" Vielen Dank."), (String::new(), Some(Dropped::Hallucination)));
        assert_eq!(clean(" Untertitel im Auftrag des ZDF, 2021"), (String::new(), Some(Dropped::Hallucination)));
        assert_eq!(clean(" ..."), (String::new(), Some(Dropped::NoWords)));
    }

    #[test]
    fn commands_survive_cleaning() {
        assert_eq!(clean(" Turn on the kitchen light."), ("Turn on the kitchen light.".to_string(), None));
        assert_eq!(
            clean(" Schalte das Licht in der Küche ein. (Musik)"),
            ("Schalte das Licht in der Küche ein.".to_string(), None)
        );
        assert_eq!(clean(" Set the light to 50%."), ("Set the light to 50%.".to_string(), None));
    }
}
