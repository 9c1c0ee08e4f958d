//! [`Samples`]: the buffer that holds captured audio and wipes it when done.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::SAMPLE_RATE;

/// Captured audio: 16 kHz mono `f32` samples in `[-1, 1]` (unless documented otherwise).
///
/// # Privacy
///
/// What a microphone hears in someone's home is the most sensitive data Hearth handles, so this
/// buffer makes sure it does not linger in memory:
///
/// - it is overwritten with zeros (with writes the compiler may not remove, via [`zeroize`])
///   when dropped, cleared or truncated;
/// - growing it through [`Samples::extend_from_slice`] / [`Samples::push`] moves the data to a
///   larger allocation itself and wipes the old one, instead of letting `Vec` free it with the
///   audio still in it;
/// - its `Debug` output shows the length, never the samples.
///
/// Copies made through the slice it derefs to (`to_vec()`, iterators, …) are not covered:
/// keep audio in `Samples` end to end. Nothing in Hearth writes audio to disk.
#[derive(Default, Clone)]
pub struct Samples(Vec<f32>);

impl Samples {
    /// An empty buffer.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// An empty buffer with room for `capacity` samples.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Vec::with_capacity(capacity))
    }

    /// A buffer of `len` zero samples.
    pub fn zeros(len: usize) -> Self {
        Self(vec![0.0; len])
    }

    /// Appends `data`, wiping the old allocation if the buffer has to grow.
    pub fn extend_from_slice(&mut self, data: &[f32]) {
        self.reserve(data.len());
        self.0.extend_from_slice(data);
    }

    /// Appends one sample, wiping the old allocation if the buffer has to grow.
    pub fn push(&mut self, sample: f32) {
        self.reserve(1);
        self.0.push(sample);
    }

    /// Makes room for `additional` more samples without leaving a copy of the audio behind.
    pub fn reserve(&mut self, additional: usize) {
        let needed = self.0.len().saturating_add(additional);
        if needed <= self.0.capacity() {
            return;
        }
        let new_capacity = needed.max(self.0.capacity().saturating_mul(2)).max(256);
        let mut grown = Vec::with_capacity(new_capacity);
        grown.extend_from_slice(&self.0);
        let mut old = std::mem::replace(&mut self.0, grown);
        old.zeroize();
    }

    /// Shortens the buffer to `len` samples, wiping the samples removed.
    pub fn truncate(&mut self, len: usize) {
        if len < self.0.len() {
            self.0[len..].zeroize();
            self.0.truncate(len);
        }
    }

    /// Removes all samples, wiping them; keeps the allocation for reuse.
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Removes the first `n` samples (all of them if fewer), moving the rest to the front and
    /// wiping the vacated tail.
    pub fn drain_front(&mut self, n: usize) {
        let n = n.min(self.0.len());
        if n == 0 {
            return;
        }
        let len = self.0.len();
        self.0.copy_within(n.., 0);
        self.truncate(len - n);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Playing time, assuming the buffer holds [`SAMPLE_RATE`] mono audio.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.0.len() as f64 / f64::from(SAMPLE_RATE))
    }
}

impl From<Vec<f32>> for Samples {
    /// Takes ownership of `samples`; from here on they are wiped when dropped.
    fn from(samples: Vec<f32>) -> Self {
        Self(samples)
    }
}

impl From<&[f32]> for Samples {
    fn from(samples: &[f32]) -> Self {
        Self(samples.to_vec())
    }
}

impl Deref for Samples {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Samples {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl AsRef<[f32]> for Samples {
    fn as_ref(&self) -> &[f32] {
        &self.0
    }
}

impl PartialEq for Samples {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Zeroize for Samples {
    /// Wipes every sample and the spare capacity, and empties the buffer.
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl Drop for Samples {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for Samples {}

impl fmt::Debug for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Samples({} samples, {:.2} s at 16 kHz)", self.0.len(), self.duration().as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_keeps_contents() {
        let mut s = Samples::new();
        for i in 0..10_000 {
            s.push(i as f32);
        }
        s.extend_from_slice(&[1.0; 5000]);
        assert_eq!(s.len(), 15_000);
        assert_eq!(s[9_999], 9_999.0);
        assert_eq!(s[14_999], 1.0);
    }

    #[test]
    fn drain_front_and_truncate() {
        let mut s = Samples::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        s.drain_front(2);
        assert_eq!(&s[..], &[3.0, 4.0, 5.0]);
        s.drain_front(10);
        assert!(s.is_empty());
        let mut t = Samples::from(vec![1.0, 2.0, 3.0]);
        t.truncate(1);
        assert_eq!(&t[..], &[1.0]);
        t.zeroize();
        assert!(t.is_empty());
    }

    #[test]
    fn debug_does_not_print_audio() {
        let s = Samples::from(vec![0.123_456; 16_000]);
        let text = format!("{s:?}");
        assert!(text.contains("16000 samples"), "{text}");
        assert!(!text.contains("0.123"), "{text}");
    }
}
