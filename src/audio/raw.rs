//! Raw signed 16-bit little-endian PCM (s16le), typically piped in on standard input.

use std::io::{self, Read};

use zeroize::Zeroize;

use super::{AudioError, Resampler16k, SAMPLE_RATE, Samples, Source, take_pending};

/// Bytes read from the reader per step.
const READ_CHUNK: usize = 8_192;

/// Reads raw s16le 16 kHz mono audio from `reader` (e.g. standard input) to its end.
///
/// A trailing odd byte (half a sample) is ignored with a warning. Empty input is an error.
pub fn read_raw_s16le<R: Read>(reader: R) -> Result<Samples, AudioError> {
    let mut source = RawS16leSource::new(reader);
    let mut all = Samples::new();
    while !source.done {
        source.step()?;
        all.extend_from_slice(&source.pending);
        source.pending.clear();
    }
    if source.bytes_read == 0 {
        return Err(source.empty_error());
    }
    Ok(all)
}

/// Raw interleaved s16le PCM from any [`Read`] as a streaming [`Source`] of 16 kHz mono blocks.
///
/// [`RawS16leSource::new`] expects 16 kHz mono; [`RawS16leSource::with_format`] takes any rate and
/// channel count. Everything goes through [`Resampler16k`]. The byte buffer is wiped after every
/// read and on drop.
pub struct RawS16leSource<R> {
    reader: R,
    label: String,
    bytes: Vec<u8>,
    /// The first byte of a sample split across two reads.
    carry: Option<u8>,
    bytes_read: u64,
    resampler: Resampler16k,
    scratch: Samples,
    pending: Samples,
    done: bool,
}

impl<R: Read> RawS16leSource<R> {
    /// 16 kHz mono s16le from `reader`, described as "standard input" in messages.
    #[allow(clippy::expect_used, reason = "16 kHz mono to 16 kHz needs no resampler, so it cannot fail")]
    pub fn new(reader: R) -> Self {
        let resampler = Resampler16k::new(SAMPLE_RATE, 1).expect("16 kHz mono is always valid");
        Self::build(reader, "standard input".to_owned(), resampler)
    }

    /// s16le at `sample_rate` Hz with `channels` interleaved channels; `label` names the input
    /// in messages.
    pub fn with_format(
        reader: R,
        label: impl Into<String>,
        sample_rate: u32,
        channels: u16,
    ) -> Result<Self, AudioError> {
        let label = label.into();
        let resampler = Resampler16k::new(sample_rate, channels).map_err(|e| match e {
            AudioError::InvalidFormat { detail, .. } => AudioError::InvalidFormat { what: label.clone(), detail },
            other => other,
        })?;
        Ok(Self::build(reader, label, resampler))
    }

    fn build(reader: R, label: String, resampler: Resampler16k) -> Self {
        Self {
            reader,
            label,
            bytes: vec![0; READ_CHUNK],
            carry: None,
            bytes_read: 0,
            resampler,
            scratch: Samples::with_capacity(READ_CHUNK / 2 + 1),
            pending: Samples::new(),
            done: false,
        }
    }

    fn empty_error(&self) -> AudioError {
        AudioError::Empty {
            what: self.label.clone(),
            detail: "no audio arrived (0 bytes); pipe in raw 16 kHz mono signed 16-bit \
                     little-endian audio, e.g. `arecord -q -f S16_LE -r 16000 -c 1 -t raw` or \
                     `sox in.wav -t raw -r 16000 -c 1 -e signed -b 16 -`"
                .to_owned(),
        }
    }

    /// Reads one chunk of bytes and converts it into `pending`.
    fn step(&mut self) -> Result<(), AudioError> {
        let n = loop {
            match self.reader.read(&mut self.bytes) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(AudioError::Io { what: self.label.clone(), source: e });
                }
            }
        };
        if n == 0 {
            if self.carry.take().is_some() {
                tracing::warn!(
                    input = %self.label,
                    "raw audio ended with half a sample (odd byte count); ignored it"
                );
            }
            self.resampler.finish(&mut self.pending)?;
            self.done = true;
            return Ok(());
        }
        self.bytes_read += n as u64;
        let mut data = &self.bytes[..n];
        self.scratch.clear();
        if let Some(first) = self.carry.take() {
            self.scratch.push(pcm16(first, data[0]));
            data = &data[1..];
        }
        let pairs = data.chunks_exact(2);
        if let [last] = pairs.remainder() {
            self.carry = Some(*last);
        }
        for pair in pairs {
            self.scratch.push(pcm16(pair[0], pair[1]));
        }
        self.bytes[..n].zeroize();
        let converted = self.resampler.process(&self.scratch, &mut self.pending);
        self.scratch.clear();
        converted
    }
}

fn pcm16(lo: u8, hi: u8) -> f32 {
    f32::from(i16::from_le_bytes([lo, hi])) / 32_768.0
}

impl<R: Read> Source for RawS16leSource<R> {
    fn read(&mut self, block: &mut [f32]) -> Result<usize, AudioError> {
        while self.pending.len() < block.len() && !self.done {
            self.step()?;
        }
        Ok(take_pending(&mut self.pending, block))
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

impl<R> Drop for RawS16leSource<R> {
    fn drop(&mut self) {
        self.bytes.zeroize();
        self.carry.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    /// A reader that hands out at most `step` bytes per call, to split samples across reads.
    struct Dribble<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn decodes_values() {
        let input = [0i16, 16_384, -16_384, i16::MAX, i16::MIN];
        let out = read_raw_s16le(&bytes_of(&input)[..]).unwrap();
        assert_eq!(&out[..], &[0.0, 0.5, -0.5, 32_767.0 / 32_768.0, -1.0]);
    }

    #[test]
    fn samples_split_across_reads() {
        let input: Vec<i16> = (0..5000).map(|i| (i * 7 % 65_536 - 32_768) as i16).collect();
        let bytes = bytes_of(&input);
        let whole = read_raw_s16le(&bytes[..]).unwrap();
        let dribbled = read_raw_s16le(Dribble { data: &bytes, step: 3 }).unwrap();
        assert_eq!(whole.len(), 5000);
        assert_eq!(whole, dribbled);
    }

    #[test]
    fn odd_trailing_byte_is_ignored() {
        let mut bytes = bytes_of(&[100, 200]);
        bytes.push(7);
        assert_eq!(read_raw_s16le(&bytes[..]).unwrap().len(), 2);
    }

    #[test]
    fn empty_input_is_an_error() {
        let err = read_raw_s16le(io::empty()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("standard input is empty"), "{msg}");
        assert!(msg.contains("0 bytes"), "{msg}");
    }

    #[test]
    fn streaming_blocks_match_one_shot() {
        let input: Vec<i16> = (0..4321).map(|i| ((i * 37) % 2000) as i16).collect();
        let bytes = bytes_of(&input);
        let whole = read_raw_s16le(&bytes[..]).unwrap();
        let mut source = RawS16leSource::new(&bytes[..]);
        let mut got = Samples::new();
        let mut block = [0.0f32; super::super::BLOCK_SAMPLES];
        loop {
            let n = source.read(&mut block).unwrap();
            got.extend_from_slice(&block[..n]);
            if n < block.len() {
                break;
            }
        }
        assert_eq!(whole, got);
    }

    #[test]
    fn other_formats_are_resampled() {
        // 1 s of 48 kHz stereo silence -> 1 s at 16 kHz.
        let bytes = vec![0u8; 48_000 * 2 * 2];
        let mut source = RawS16leSource::with_format(&bytes[..], "pipe", 48_000, 2).unwrap();
        let out = super::super::read_all(&mut source).unwrap();
        assert_eq!(out.len(), 16_000);
    }
}
