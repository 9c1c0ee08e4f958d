//! Speech out: an answer's text becomes audio in memory, in the command's language.
//!
//! The voice is espeak-ng, run as a child process for each answer: the text goes in on its
//! standard input (never on the command line, where `ps` would show it to every user of the
//! machine) and the WAV comes back on its standard output, so neither the text nor the audio
//! touches the disk. espeak-ng is a Debian package (`espeak-ng`) with voices for more than
//! a hundred languages, starts in a few milliseconds, and needs no model download; a short
//! answer is synthesised in about 20 ms on this project's 2-core test machine (see
//! BENCHMARKS.md for the figures and how to rerun them).
//!
//! The audio is handed to [`crate::feedback::Feedback::say`], which plays it on the
//! `[feedback]` speaker. [`Speech`] holds it in a [`Samples`], wiped when dropped.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::audio::Samples;
use crate::config::VoiceSettings;
use crate::intent::Language;

/// Longest text spoken at once (an announcement from MQTT is cut here, at a word).
pub const MAX_TEXT: usize = 600;
/// Longest time synthesis may take before it is given up.
const SYNTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Audio of spoken text: mono samples in [-1, 1] at `rate`. Wiped when dropped.
#[derive(Debug)]
pub struct Speech {
    /// The samples.
    pub samples: Samples,
    /// Their sample rate (espeak-ng: 22 050 Hz).
    pub rate: u32,
}

impl Speech {
    /// How long it sounds.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(self.rate.max(1)))
    }
}

/// Why text could not be spoken. Every message names the fix.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    /// The espeak-ng program is not there.
    #[error(
        "cannot run the voice {program}: {detail}. Install it (`sudo apt-get install espeak-ng`), \
         point `[voice] espeak = \"…\"` at it, or set `[voice] answers = \"chime\"` to answer with tones only"
    )]
    NotInstalled {
        /// The program that was run.
        program: String,
        /// What the system said.
        detail: String,
    },
    /// espeak-ng has no voice for the language.
    #[error(
        "the voice has no {language:?} ({voice}) voice: {detail}. `espeak-ng --voices` lists the \
         languages it speaks; answers in this language stay tones"
    )]
    NoVoice {
        /// The command's language.
        language: String,
        /// The espeak-ng voice asked for.
        voice: String,
        /// What espeak-ng said.
        detail: String,
    },
    /// espeak-ng failed or wrote something that is not a WAV.
    #[error("the voice {program} failed: {detail}; check it with `hearth say \"hello\"` or `hearth doctor`")]
    Failed {
        /// The program that was run.
        program: String,
        /// What went wrong.
        detail: String,
    },
}

/// The espeak-ng voice for a language: `en-us` for English (Home Assistant's default English is
/// American), the code itself for the rest (espeak-ng knows `de`, `fr`, `nl`, `pt-br`, …).
pub fn espeak_voice(language: Language) -> String {
    match language {
        Language::En => "en-us".to_owned(),
        other => other.code().to_ascii_lowercase().replace('_', "-"),
    }
}

/// `text` made safe to speak: control characters become spaces, runs of white space one space,
/// and at most [`MAX_TEXT`] bytes, cut after a whole word.
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|w| !w.is_empty()) {
        if out.len() + word.len() + 1 > MAX_TEXT {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Text to speech with espeak-ng.
#[derive(Debug, Clone)]
pub struct Voice {
    /// The espeak-ng program.
    program: PathBuf,
    /// Words per minute.
    speed: u32,
}

impl Voice {
    /// The voice `[voice]` describes.
    pub fn from_settings(settings: &VoiceSettings) -> Voice {
        Voice { program: settings.espeak.clone(), speed: settings.speed }
    }

    /// Speaks `text` in `language`; the audio stays in memory. Empty text gives no samples.
    pub fn speak(&self, text: &str, language: Language) -> Result<Speech, VoiceError> {
        let text = clean_text(text);
        if text.is_empty() {
            return Ok(Speech { samples: Samples::new(), rate: 22_050 });
        }
        let voice = espeak_voice(language);
        let program = self.program.display().to_string();
        let failed = |detail: String| VoiceError::Failed { program: program.clone(), detail };
        let mut child = Command::new(&self.program)
            .args(["-v", &voice, "-s", &self.speed.to_string(), "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| VoiceError::NotInstalled { program: program.clone(), detail: e.to_string() })?;
        // The text is small (≤ MAX_TEXT) and fits the pipe: written whole, then closed.
        let written = child.stdin.take().map(|mut stdin| stdin.write_all(text.as_bytes()));
        let mut wav = zeroize::Zeroizing::new(Vec::new());
        let mut stderr = String::new();
        let read = child.stdout.take().map(|mut out| out.read_to_end(&mut wav));
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut stderr);
        }
        let status = wait_with_timeout(&mut child, SYNTH_TIMEOUT).map_err(failed)?;
        if !status.success() {
            let detail = stderr.trim().trim_start_matches("Error: ").to_owned();
            if detail.contains("voice does not exist") {
                return Err(VoiceError::NoVoice { language: language.code().to_owned(), voice, detail });
            }
            return Err(failed(format!("it exited with {status}: {detail}")));
        }
        if let Some(Err(e)) = written {
            return Err(failed(format!("the text could not be handed over: {e}")));
        }
        if let Some(Err(e)) = read {
            return Err(failed(format!("its audio could not be read: {e}")));
        }
        parse_wav(&wav).map_err(|e| failed(e.to_owned()))
    }

    /// For `hearth doctor`: speaks a word in English and German and says how long it took.
    pub fn check(&self) -> Result<String, VoiceError> {
        let started = Instant::now();
        let en = self.speak("ready", Language::En)?;
        let de = self.speak("bereit", Language::De)?;
        Ok(format!(
            "espeak-ng ({}) speaks English and German ({:.2} s and {:.2} s of audio in {} ms)",
            self.program.display(),
            en.duration().as_secs_f64(),
            de.duration().as_secs_f64(),
            started.elapsed().as_millis()
        ))
    }
}

/// Waits for `child`, killing it after `timeout`.
fn wait_with_timeout(child: &mut std::process::Child, timeout: Duration) -> Result<std::process::ExitStatus, String> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it took longer than {} s and was stopped", timeout.as_secs()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// A 16-bit PCM WAV in memory as mono samples. espeak-ng writes the streaming form, whose
/// sizes say "unknown" (0x7fffffff): the data chunk runs to the end.
pub fn parse_wav(bytes: &[u8]) -> Result<Speech, &'static str> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("its output is not a WAV file");
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if body + 16 > bytes.len() {
                return Err("its WAV header is cut short");
            }
            format = Some((u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14)));
        } else if id == b"data" {
            let Some((1, channels @ 1.., rate @ 1.., 16)) = format else {
                return Err("its WAV is not 16-bit PCM");
            };
            let end = body.saturating_add(size).min(bytes.len());
            let channels = usize::from(channels);
            let mut samples = Samples::with_capacity((end - body) / 2 / channels);
            for frame in bytes[body..end].chunks_exact(2 * channels) {
                let sum: f32 = frame.chunks_exact(2).map(|s| f32::from(i16::from_le_bytes([s[0], s[1]]))).sum();
                samples.push(sum / (32_768.0 * channels as f32));
            }
            return Ok(Speech { samples, rate });
        }
        at = body.saturating_add(size + (size & 1));
    }
    Err("its WAV has no audio")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(rate: u32, channels: u16, data: &[i16], streaming: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let len = (data.len() * 2) as u32;
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(if streaming { 0x7fff_ffff } else { 36 + len }).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
        out.extend_from_slice(&(2 * channels).to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(if streaming { 0x7fff_ffff } else { len }).to_le_bytes());
        data.iter().for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
        out
    }

    #[test]
    fn streaming_and_sized_wavs_parse() {
        for streaming in [true, false] {
            let speech = parse_wav(&wav(22_050, 1, &[0, 16_384, -32_768], streaming)).unwrap();
            assert_eq!(speech.rate, 22_050);
            assert_eq!(&speech.samples[..], &[0.0, 0.5, -1.0]);
        }
        let stereo = parse_wav(&wav(16_000, 2, &[16_384, 0, -16_384, -16_384], false)).unwrap();
        assert_eq!(&stereo.samples[..], &[0.25, -0.5]);
    }

    #[test]
    fn broken_wavs_are_errors() {
        assert!(parse_wav(b"").is_err());
        assert!(parse_wav(b"RIFF\0\0\0\0WAVE").is_err());
        let mut eight_bit = wav(8_000, 1, &[0, 0], false);
        eight_bit[34] = 8;
        assert_eq!(parse_wav(&eight_bit).unwrap_err(), "its WAV is not 16-bit PCM");
        let cut = wav(8_000, 1, &[0], false);
        assert!(parse_wav(&cut[..30]).is_err());
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean_text("  Timer\tset\u{7}for\n5 minutes "), "Timer set for 5 minutes");
        let long = "word ".repeat(500);
        let cleaned = clean_text(&long);
        assert!(cleaned.len() <= MAX_TEXT && cleaned.ends_with("word"), "{}", cleaned.len());
    }

    #[test]
    fn voices_by_language() {
        assert_eq!(espeak_voice(Language::En), "en-us");
        assert_eq!(espeak_voice(Language::De), "de");
        assert_eq!(espeak_voice(Language::parse("pt_BR").unwrap()), "pt-br");
    }

    #[test]
    fn a_missing_program_names_the_fix() {
        let voice = Voice { program: PathBuf::from("/nonexistent/espeak-ng"), speed: 175 };
        let err = voice.speak("hello", Language::En).unwrap_err().to_string();
        assert!(err.contains("apt-get install espeak-ng") && err.contains("answers = \"chime\""), "{err}");
        // Nothing to say needs no program.
        assert!(voice.speak(" \n ", Language::En).unwrap().samples.is_empty());
    }
}
