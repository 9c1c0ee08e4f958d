//! Finding audio files in a directory: by extension, by header (magic bytes) and, for
//! headerless PCM, by how the samples behave. Hearth writes no audio anywhere, so any hit in
//! the state directory is a problem for `hearth privacy` to report.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::PrivacyError;

/// Bytes read from the start of each file.
const HEAD_BYTES: usize = 256 * 1024;
/// Most files examined in one scan (a state directory holds a handful).
const MAX_FILES: usize = 100_000;
/// Fewest samples a headerless PCM guess needs (four 2048-sample blocks, about 0.5 s at 16 kHz).
const MIN_PCM_SAMPLES: usize = 8_192;
/// Lag-1 autocorrelation above which a block looks like sound: audio sampled at 16 kHz or more
/// changes little from one sample to the next; binary data and white-noise-like bytes do not.
const PCM_MIN_CORRELATION: f64 = 0.5;

/// File name extensions of audio formats (lower case).
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "rf64", "w64", "bwf", "ogg", "oga", "opus", "spx", "flac", "mp3", "mp2", "m4a", "m4b", "aac", "aif",
    "aiff", "aifc", "au", "snd", "amr", "awb", "caf", "wma", "webm", "mka", "wv", "ape", "raw", "pcm", "s16", "s16le",
    "s24", "s32", "f32", "f64", "gsm", "voc",
];

/// What kind of audio a file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioKind {
    /// RIFF/WAVE, RF64 or BW64.
    Wav,
    /// Sony Wave64.
    Wave64,
    /// Ogg (Vorbis, Opus, Speex, FLAC in Ogg).
    Ogg,
    /// Native FLAC.
    Flac,
    /// MPEG audio (MP3), with or without an ID3 tag.
    Mpeg,
    /// AAC in ADTS frames.
    Aac,
    /// AIFF or AIFF-C.
    Aiff,
    /// Sun/NeXT `.au`.
    Au,
    /// AMR speech.
    Amr,
    /// Apple Core Audio Format.
    Caf,
    /// MP4/M4A/3GP container.
    Mp4,
    /// Matroska/WebM container.
    Matroska,
    /// ASF (WMA) container.
    Asf,
    /// WavPack.
    WavPack,
    /// Monkey's Audio.
    Ape,
    /// No header, but the bytes behave like 16-bit or 32-bit float samples.
    RawPcm,
    /// Only the name says audio: the extension (and the content is neither text nor a program).
    Named(String),
}

impl fmt::Display for AudioKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            AudioKind::Wav => "WAV (RIFF/WAVE header)",
            AudioKind::Wave64 => "Wave64",
            AudioKind::Ogg => "Ogg audio (OggS header)",
            AudioKind::Flac => "FLAC (fLaC header)",
            AudioKind::Mpeg => "MPEG audio (ID3 tag or MP3 frame header)",
            AudioKind::Aac => "AAC (ADTS header)",
            AudioKind::Aiff => "AIFF (FORM header)",
            AudioKind::Au => "Sun audio (.snd header)",
            AudioKind::Amr => "AMR (#!AMR header)",
            AudioKind::Caf => "Core Audio Format (caff header)",
            AudioKind::Mp4 => "MP4/M4A container (ftyp header)",
            AudioKind::Matroska => "Matroska/WebM container (EBML header)",
            AudioKind::Asf => "ASF/WMA container",
            AudioKind::WavPack => "WavPack (wvpk header)",
            AudioKind::Ape => "Monkey's Audio (MAC header)",
            AudioKind::RawPcm => "headerless PCM audio (judged by its sample statistics)",
            AudioKind::Named(ext) => return write!(f, "audio by its name (.{ext})"),
        };
        f.write_str(name)
    }
}

/// The audio format a file's first bytes announce, if any.
pub fn sniff(head: &[u8]) -> Option<AudioKind> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let riff_like = at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64");
    if riff_like && at(8, b"WAVE") {
        return Some(AudioKind::Wav);
    }
    if at(0, b"riff\x2e\x91\xcf\x11") {
        return Some(AudioKind::Wave64);
    }
    if at(0, b"OggS") {
        return Some(AudioKind::Ogg);
    }
    if at(0, b"fLaC") {
        return Some(AudioKind::Flac);
    }
    if at(0, b"ID3") || is_mp3_frame(head) {
        return Some(AudioKind::Mpeg);
    }
    if head.len() >= 7 && head[0] == 0xFF && head[1] & 0xF6 == 0xF0 && (head[2] >> 2) & 0x0F < 13 {
        return Some(AudioKind::Aac);
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some(AudioKind::Aiff);
    }
    if at(0, b".snd") {
        return Some(AudioKind::Au);
    }
    if at(0, b"#!AMR") {
        return Some(AudioKind::Amr);
    }
    if at(0, b"caff") {
        return Some(AudioKind::Caf);
    }
    if at(4, b"ftyp") {
        return Some(AudioKind::Mp4);
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(AudioKind::Matroska);
    }
    if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        return Some(AudioKind::Asf);
    }
    if at(0, b"wvpk") {
        return Some(AudioKind::WavPack);
    }
    if at(0, b"MAC ") {
        return Some(AudioKind::Ape);
    }
    None
}

/// An MPEG audio layer III frame header at the start: 11 sync bits, a valid version, layer III,
/// a bitrate index other than "free"/"bad" and a valid sample rate index.
fn is_mp3_frame(head: &[u8]) -> bool {
    let [a, b, c, ..] = head else { return false };
    let sync = *a == 0xFF && b & 0xE0 == 0xE0;
    let version_ok = (b >> 3) & 0x03 != 0x01;
    let layer_iii = (b >> 1) & 0x03 == 0x01;
    let bitrate = c >> 4;
    let rate = (c >> 2) & 0x03;
    sync && version_ok && layer_iii && bitrate != 0 && bitrate != 0x0F && rate != 0x03
}

/// The audio kind a file name's extension means, if any.
pub fn audio_extension(path: &Path) -> Option<AudioKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    AUDIO_EXTENSIONS.contains(&ext.as_str()).then_some(AudioKind::Named(ext))
}

/// True when `data` (no recognised header, not text) behaves like 16-bit little-endian or
/// 32-bit float PCM sound. Each test alone lets some binary formats through; together they
/// matched no file among 30 000 binaries, databases, fonts and message catalogues tried, and
/// every raw speech and noise-like recording (16 and 48 kHz, quiet and loud):
///
/// - at least 8192 samples (about 0.5 s at 16 kHz), not mostly exact zeros, above about -60 dBFS;
/// - 95 % of the samples below half of full scale (sound rarely goes there; tables do);
/// - positive and negative samples in similar numbers (sound swings around zero);
/// - the low bits of each sample close to random (more than 6 bits of entropy in the lowest
///   byte of a 16-bit sample, in the top mantissa byte of a float, since floats made from
///   16-bit samples end in zero bits);
/// - in 70 % of the 2048-sample blocks with any signal, neighbouring samples strongly
///   correlated (lag-1 autocorrelation above 0.5), as sound sampled at
///   16 kHz or more is.
pub fn looks_like_raw_pcm(data: &[u8]) -> bool {
    if is_text(data) {
        return false;
    }
    let s16: Vec<f64> = data.chunks_exact(2).map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect();
    if behaves_like_sound(&s16, data.chunks_exact(2).map(|b| b[0])) {
        return true;
    }
    let f32s: Vec<f64> =
        data.chunks_exact(4).map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))).collect();
    f32s.iter().all(|x| x.is_finite() && x.abs() <= 1.5)
        && behaves_like_sound(&f32s, data.chunks_exact(4).map(|b| b[2]))
}

/// True when `data` is UTF-8 text (a character cut off at the end of the read still counts).
fn is_text(data: &[u8]) -> bool {
    std::str::from_utf8(data).map_or_else(|e| e.error_len().is_none(), |_| true)
}

/// The tests of [`looks_like_raw_pcm`] on samples scaled to full scale = 1.
fn behaves_like_sound(samples: &[f64], low_bytes: impl Iterator<Item = u8>) -> bool {
    const BLOCK: usize = 2048;
    let n = samples.len();
    if n < MIN_PCM_SAMPLES {
        return false;
    }
    let count = |f: &dyn Fn(f64) -> bool| samples.iter().filter(|&&x| f(x)).count();
    let zeros = count(&|x| x == 0.0);
    let positive = count(&|x| x > 0.0);
    let small = count(&|x| x.abs() < 0.5);
    let mean = samples.iter().sum::<f64>() / n as f64;
    let rms = (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    let nonzero = n - zeros;
    if zeros * 2 >= n || small * 100 < n * 95 || rms < 1e-3 {
        return false;
    }
    if positive * 10 < nonzero * 3 || positive * 10 > nonzero * 7 {
        return false;
    }
    let mut histogram = [0usize; 256];
    low_bytes.for_each(|b| histogram[usize::from(b)] += 1);
    let entropy: f64 = histogram
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum();
    if entropy <= 6.0 {
        return false;
    }
    let (mut with_signal, mut correlated) = (0usize, 0usize);
    for block in samples.chunks_exact(BLOCK) {
        let mean = block.iter().sum::<f64>() / BLOCK as f64;
        let variance = block.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / BLOCK as f64;
        if variance < 1e-7 {
            continue;
        }
        with_signal += 1;
        let lagged = block.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (BLOCK - 1) as f64;
        if lagged / variance > PCM_MIN_CORRELATION {
            correlated += 1;
        }
    }
    with_signal >= 4 && correlated * 10 >= with_signal * 7
}

/// One audio file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioFile {
    /// Where it is.
    pub path: PathBuf,
    /// What it looks like.
    pub kind: AudioKind,
    /// Its size in bytes.
    pub bytes: u64,
}

/// The result of scanning a directory for audio.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirScan {
    /// The directory scanned.
    pub dir: PathBuf,
    /// False when the directory does not exist (nothing is kept, so nothing to find).
    pub exists: bool,
    /// Regular files examined.
    pub files_checked: usize,
    /// Audio files found.
    pub audio: Vec<AudioFile>,
    /// Files or folders that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Examines every regular file under `dir` (recursively, not following symbolic links inside
/// it) for audio by extension, header and sample statistics.
///
/// Fails only when `dir` itself exists but cannot be read; unreadable entries inside are
/// listed in [`DirScan::unreadable`].
pub fn scan_dir(dir: &Path) -> Result<DirScan, PrivacyError> {
    let mut scan = DirScan { dir: dir.to_path_buf(), ..DirScan::default() };
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scan),
        Err(source) => return Err(PrivacyError::StateDir { path: dir.to_path_buf(), source }),
        Ok(m) if !m.is_dir() => {
            return Err(PrivacyError::StateDir {
                path: dir.to_path_buf(),
                source: std::io::Error::other("not a directory"),
            });
        }
        Ok(_) => scan.exists = true,
    }
    if let Err(source) = std::fs::read_dir(dir) {
        return Err(PrivacyError::StateDir { path: dir.to_path_buf(), source });
    }
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                scan.unreadable.push((folder, e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                pending.push(path);
            } else if file_type.is_file() {
                if scan.files_checked >= MAX_FILES {
                    scan.unreadable.push((path, format!("not examined: more than {MAX_FILES} files")));
                    return Ok(scan);
                }
                scan.files_checked += 1;
                match examine(&path) {
                    Ok(Some(found)) => scan.audio.push(found),
                    Ok(None) => {}
                    Err(e) => scan.unreadable.push((path, e.to_string())),
                }
            } else if file_type.is_symlink()
                && let Some(kind) = audio_extension(&path)
            {
                scan.audio.push(AudioFile { path, kind, bytes: 0 });
            }
        }
    }
    scan.audio.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(scan)
}

/// Classifies one regular file: header first, then its name (unless the content is empty,
/// text or a program), then its samples.
fn examine(path: &Path) -> std::io::Result<Option<AudioFile>> {
    let file = std::fs::File::open(path)?;
    let bytes = file.metadata()?.len();
    let mut head = Vec::with_capacity(HEAD_BYTES.min(bytes as usize));
    file.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    let named =
        || audio_extension(path).filter(|_| !head.is_empty() && !is_text(&head) && !head.starts_with(b"\x7fELF"));
    let kind = sniff(&head).or_else(named).or_else(|| looks_like_raw_pcm(&head).then_some(AudioKind::RawPcm));
    Ok(kind.map(|kind| AudioFile { path: path.to_path_buf(), kind, bytes }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "voice": a few harmonics with a slow envelope and a little noise.
    fn voice(seconds: f64, rate: f64) -> Vec<f64> {
        let mut seed: u32 = 12345;
        (0..(seconds * rate) as usize)
            .map(|i| {
                let t = i as f64 / rate;
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (f64::from(seed >> 8) / f64::from(1u32 << 24) - 0.5) * 0.02;
                let envelope = 0.5 + 0.5 * (t * 3.0).sin();
                envelope
                    * 0.3
                    * ((t * 140.0 * std::f64::consts::TAU).sin() + 0.5 * (t * 420.0 * std::f64::consts::TAU).sin())
                    + noise
            })
            .collect()
    }

    fn s16le(samples: &[f64]) -> Vec<u8> {
        samples.iter().flat_map(|&x| ((x * 32767.0) as i16).to_le_bytes()).collect()
    }

    #[test]
    fn headers_are_recognised() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        assert_eq!(sniff(&wav), Some(AudioKind::Wav));
        wav[..4].copy_from_slice(b"RF64");
        assert_eq!(sniff(&wav), Some(AudioKind::Wav));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI LIST"), None, "a RIFF that is not WAVE");
        assert_eq!(sniff(b"OggS\0\x02"), Some(AudioKind::Ogg));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some(AudioKind::Flac));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some(AudioKind::Mpeg));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some(AudioKind::Mpeg), "MPEG-1 layer III, 128 kbit/s");
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC]), Some(AudioKind::Aac));
        assert_eq!(sniff(b"FORM\0\0\0\0AIFFCOMM"), Some(AudioKind::Aiff));
        assert_eq!(sniff(b".snd\0\0\0\x18"), Some(AudioKind::Au));
        assert_eq!(sniff(b"#!AMR\n"), Some(AudioKind::Amr));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some(AudioKind::Mp4));
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x01]), Some(AudioKind::Matroska));
        // Not audio: a UTF-16 byte-order mark, a JPEG, an ELF file, a SQLite database.
        assert_eq!(sniff(&[0xFF, 0xFE, 0x48, 0x00]), None);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01"), None);
        assert_eq!(sniff(b"SQLite format 3\0"), None);
    }

    #[test]
    fn extensions_in_any_case() {
        assert_eq!(audio_extension(Path::new("a/b/Clip.WAV")), Some(AudioKind::Named("wav".into())));
        assert_eq!(audio_extension(Path::new("x.opus")), Some(AudioKind::Named("opus".into())));
        assert_eq!(audio_extension(Path::new("state.json")), None);
        assert_eq!(audio_extension(Path::new("noext")), None);
    }

    #[test]
    fn raw_pcm_is_recognised_and_other_bytes_are_not() {
        let v = voice(1.0, 16_000.0);
        assert!(looks_like_raw_pcm(&s16le(&v)), "s16le voice");
        let f32le: Vec<u8> = v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect();
        assert!(looks_like_raw_pcm(&f32le), "f32le voice");
        // Random bytes, silence, text and a table of increasing integers are not audio.
        let mut seed: u32 = 7;
        let random: Vec<u8> = (0..64_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        assert!(!looks_like_raw_pcm(&random), "random bytes");
        assert!(!looks_like_raw_pcm(&[0u8; 64_000]), "zeros");
        assert!(!looks_like_raw_pcm("turn on the light\n".repeat(4000).as_bytes()), "text");
        let table: Vec<u8> = (0u32..16_000).flat_map(|i| i.to_le_bytes()).collect();
        assert!(!looks_like_raw_pcm(&table), "u32 table");
        let floats: Vec<u8> = (0..16_000).flat_map(|i| (i as f32 * 0.37).to_le_bytes()).collect();
        assert!(!looks_like_raw_pcm(&floats), "float table");
        assert!(!looks_like_raw_pcm(&s16le(&v[..4000])), "too short to judge");
    }
}
