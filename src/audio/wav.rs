//! WAV files: 8 to 192 kHz, 8/16/24/32-bit integer or 32-bit float PCM, any channel count.
//!
//! The header is checked here first (so that every problem gets a precise message naming the
//! file), then `hound` decodes the samples.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use hound::WavReader;
use zeroize::Zeroize;

use super::{AudioError, Resampler16k, Samples, Source, take_pending};

/// Interleaved samples decoded per step (rounded down to whole frames).
const DECODE_CHUNK: usize = 8_192;

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_FLOAT: u16 = 0x0003;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Reads a whole WAV file and returns it as 16 kHz mono.
///
/// Accepts sample rates of 8 to 192 kHz ([`super::WAV_RATES`]), any channel count,
/// 8/16/24/32-bit integer PCM and 32-bit float (plain or WAVE_FORMAT_EXTENSIBLE). Errors name the file and the problem: not found, empty,
/// not a WAV file, truncated, unsupported encoding (compressed formats, 64-bit float, …).
/// A truncated file is an error rather than being read partially.
pub fn read_wav(path: &Path) -> Result<Samples, AudioError> {
    WavSource::open(path)?.read_to_end()
}

/// A WAV file as a streaming [`Source`] of 16 kHz mono blocks.
///
/// Decodes and resamples incrementally, so memory use does not depend on the file's length.
pub struct WavSource {
    path: PathBuf,
    reader: WavReader<BufReader<File>>,
    float: bool,
    /// Multiplier from integer sample values to `[-1, 1]`.
    int_scale: f32,
    channels: usize,
    sample_rate: u32,
    /// Samples (all channels) the header announces.
    announced: u64,
    /// Samples decoded so far.
    decoded: u64,
    resampler: Resampler16k,
    /// Decoded interleaved samples waiting for the resampler.
    scratch: Samples,
    /// Converted 16 kHz samples not yet handed out.
    pending: Samples,
    done: bool,
}

impl WavSource {
    /// Opens `path` and checks its header.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let (file, info) = probe(path)?;
        let reader = WavReader::new(BufReader::new(file)).map_err(|e| hound_error(path, e))?;
        let spec = reader.spec();
        if u32::from(spec.channels) != u32::from(info.channels) || spec.sample_rate != info.sample_rate {
            return Err(invalid(path, "inconsistent fmt chunk"));
        }
        let float = spec.sample_format == hound::SampleFormat::Float;
        let int_scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
        let resampler = Resampler16k::new(spec.sample_rate, spec.channels).map_err(|e| match e {
            AudioError::InvalidFormat { detail, .. } => AudioError::UnsupportedFormat { path: path.to_owned(), detail },
            other => other,
        })?;
        let announced = u64::from(reader.len());
        if announced == 0 {
            return Err(AudioError::Empty {
                what: path.display().to_string(),
                detail: "the WAV file holds no audio samples (0 samples); record or export it \
                         again"
                    .to_owned(),
            });
        }
        tracing::debug!(
            path = %path.display(),
            rate = spec.sample_rate,
            channels = spec.channels,
            bits = spec.bits_per_sample,
            float,
            samples = announced,
            "opened WAV file"
        );
        Ok(Self {
            path: path.to_owned(),
            reader,
            float,
            int_scale,
            channels: usize::from(spec.channels),
            sample_rate: spec.sample_rate,
            announced,
            decoded: 0,
            resampler,
            scratch: Samples::with_capacity(DECODE_CHUNK),
            pending: Samples::new(),
            done: false,
        })
    }

    /// The file's own sample rate in Hz.
    pub fn native_sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The file's channel count.
    pub fn native_channels(&self) -> u16 {
        self.channels as u16
    }

    /// Length of the file's audio in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.announced as f64 / self.channels as f64 / f64::from(self.sample_rate)
    }

    /// Decodes and converts the rest of the file in one go.
    pub fn read_to_end(mut self) -> Result<Samples, AudioError> {
        while !self.done {
            self.step()?;
        }
        Ok(std::mem::take(&mut self.pending))
    }

    /// Decodes one chunk of the file and converts it into `pending`.
    fn step(&mut self) -> Result<(), AudioError> {
        let chunk = (DECODE_CHUNK / self.channels).max(1) * self.channels;
        let left = usize::try_from(self.announced - self.decoded).unwrap_or(usize::MAX);
        let want = chunk.min(left);
        self.scratch.clear();
        let result = if self.float {
            decode(self.reader.samples::<f32>().take(want), &mut self.scratch, |s| s)
        } else {
            let scale = self.int_scale;
            decode(self.reader.samples::<i32>().take(want), &mut self.scratch, |s| s as f32 * scale)
        };
        self.decoded += self.scratch.len() as u64;
        if let Err(e) = result {
            self.scratch.clear();
            return Err(match e {
                hound::Error::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
                    AudioError::Truncated { path: self.path.clone(), announced: self.announced, found: self.decoded }
                }
                other => hound_error(&self.path, other),
            });
        }
        let converted = self.resampler.process(&self.scratch, &mut self.pending);
        self.scratch.clear();
        converted?;
        if self.decoded >= self.announced {
            self.resampler.finish(&mut self.pending)?;
            self.done = true;
        }
        Ok(())
    }
}

fn decode<S>(
    samples: impl Iterator<Item = hound::Result<S>>,
    out: &mut Samples,
    convert: impl Fn(S) -> f32,
) -> hound::Result<()> {
    for s in samples {
        out.push(convert(s?));
    }
    Ok(())
}

impl Source for WavSource {
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
        while self.pending.len() < block.len() && !self.done {
            self.step()?;
        }
        Ok(take_pending(&mut self.pending, block))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for WavSource {
    fn drop(&mut self) {
        // `Samples` wipe themselves; hound's BufReader holds file bytes, which are on disk anyway.
        self.scratch.zeroize();
    }
}

/// What the header check found.
struct WavInfo {
    channels: u16,
    sample_rate: u32,
}

fn invalid(path: &Path, detail: impl Into<String>) -> AudioError {
    AudioError::InvalidWav { path: path.to_owned(), detail: detail.into() }
}

fn io_error(path: &Path, source: io::Error) -> AudioError {
    AudioError::Io { what: path.display().to_string(), source }
}

fn hound_error(path: &Path, e: hound::Error) -> AudioError {
    match e {
        hound::Error::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => AudioError::TruncatedHeader {
            path: path.to_owned(),
            len: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        },
        hound::Error::IoError(io) => io_error(path, io),
        hound::Error::Unsupported => AudioError::UnsupportedFormat {
            path: path.to_owned(),
            detail: "an encoding the WAV decoder does not support".to_owned(),
        },
        other => invalid(path, other.to_string()),
    }
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` at end of file.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<bool> {
    match file.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// True when the 4 bytes at `pos` look like a RIFF chunk id (e.g. a `LIST` chunk after an empty
/// data chunk) rather than audio.
fn next_is_chunk_id(file: &mut File, pos: u64) -> bool {
    let mut id = [0u8; 4];
    file.seek(SeekFrom::Start(pos)).is_ok()
        && read_full(file, &mut id).unwrap_or(false)
        && id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b' ')
}

fn format_name(tag: u16) -> String {
    let name = match tag {
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MP3",
        0x0161..=0x0163 => "Windows Media Audio",
        0x00FF | 0x1600 | 0x1610 => "AAC",
        _ => "compressed or unknown encoding",
    };
    format!("{name} (format tag 0x{tag:04X})")
}

/// Checks the RIFF/WAVE header, the encoding and the length of `path` before decoding.
/// Returns the file positioned at its start.
fn probe(path: &Path) -> Result<(File, WavInfo), AudioError> {
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => AudioError::NotFound { path: path.to_owned() },
        _ => io_error(path, e),
    })?;
    let meta = file.metadata().map_err(|e| io_error(path, e))?;
    if meta.is_dir() {
        return Err(io_error(path, io::Error::new(io::ErrorKind::InvalidInput, "it is a directory")));
    }
    let file_len = meta.len();
    if file_len == 0 {
        return Err(AudioError::Empty {
            what: path.display().to_string(),
            detail: "the file has 0 bytes; record or export the audio again".to_owned(),
        });
    }
    let truncated_header = || AudioError::TruncatedHeader { path: path.to_owned(), len: file_len };

    let mut riff = [0u8; 12];
    let complete = read_full(&mut file, &mut riff).map_err(|e| io_error(path, e))?;
    let have = (file_len as usize).min(12);
    if !complete {
        // A prefix of a WAV header is a cut WAV file; anything else is not a WAV file.
        let expected = b"RIFF";
        let n = have.min(4);
        return Err(if riff[..n] == expected[..n] {
            truncated_header()
        } else {
            AudioError::NotWav { path: path.to_owned() }
        });
    }
    if &riff[..4] == b"RF64" || &riff[..4] == b"BW64" {
        return Err(AudioError::UnsupportedFormat {
            path: path.to_owned(),
            detail: "RF64/BW64 (the 64-bit WAV variant for files over 4 GiB)".to_owned(),
        });
    }
    if &riff[..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        return Err(AudioError::NotWav { path: path.to_owned() });
    }

    // Walk the chunks up to the data chunk.
    let mut pos: u64 = 12;
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None; // tag, channels, rate, align, bits
    let (data_start, data_len) = loop {
        let mut header = [0u8; 8];
        file.seek(SeekFrom::Start(pos)).map_err(|e| io_error(path, e))?;
        if !read_full(&mut file, &mut header).map_err(|e| io_error(path, e))? {
            return Err(if fmt.is_some() || pos + 8 > file_len {
                truncated_header()
            } else {
                invalid(path, "no data chunk")
            });
        }
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        match &header[..4] {
            b"fmt " => {
                if len < 16 {
                    return Err(invalid(path, format!("fmt chunk of {len} bytes is too short")));
                }
                let mut body = [0u8; 40];
                let n = (len as usize).min(40);
                if !read_full(&mut file, &mut body[..n]).map_err(|e| io_error(path, e))? {
                    return Err(truncated_header());
                }
                let u16_at = |i: usize| u16::from_le_bytes([body[i], body[i + 1]]);
                let mut tag = u16_at(0);
                let channels = u16_at(2);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let align = u16_at(12);
                let bits = u16_at(14);
                if tag == FORMAT_EXTENSIBLE {
                    if n < 40 {
                        return Err(invalid(path, "WAVE_FORMAT_EXTENSIBLE fmt chunk is too short"));
                    }
                    // The sub-format GUID starts with the classic format tag.
                    tag = u16_at(24);
                }
                fmt = Some((tag, channels, rate, align, bits));
            }
            b"data" => {
                break (pos + 8, len);
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        pos += 8 + u64::from(len) + u64::from(len & 1);
    };

    let Some((tag, channels, sample_rate, _align, bits)) = fmt else {
        return Err(invalid(path, "the data chunk comes before the fmt chunk"));
    };
    let unsupported = |detail: String| AudioError::UnsupportedFormat { path: path.to_owned(), detail };
    match tag {
        FORMAT_PCM if matches!(bits, 8 | 16 | 24 | 32) => {}
        FORMAT_PCM => return Err(unsupported(format!("{bits}-bit integer PCM"))),
        FORMAT_FLOAT if bits == 32 => {}
        FORMAT_FLOAT => return Err(unsupported(format!("{bits}-bit float"))),
        other => return Err(unsupported(format_name(other))),
    }
    if channels == 0 {
        return Err(invalid(path, "the header announces 0 channels"));
    }
    if !super::WAV_RATES.contains(&sample_rate) {
        return Err(AudioError::SampleRate { path: path.to_owned(), rate: sample_rate });
    }

    let bytes_per_sample = u64::from(bits / 8);
    let present = file_len.saturating_sub(data_start);
    let unclosed = data_len == u32::MAX || (data_len == 0 && present > 0 && !next_is_chunk_id(&mut file, data_start));
    if unclosed {
        return Err(invalid(
            path,
            format!(
                "the header gives no valid data length ({data_len}) but {present} bytes follow; \
                 the recording was probably not closed properly"
            ),
        ));
    }
    if present < u64::from(data_len) {
        return Err(AudioError::Truncated {
            path: path.to_owned(),
            announced: u64::from(data_len) / bytes_per_sample,
            found: present / bytes_per_sample,
        });
    }

    file.seek(SeekFrom::Start(0)).map_err(|e| io_error(path, e))?;
    Ok((file, WavInfo { channels, sample_rate }))
}
