//! A lock-free single-producer single-consumer ring of `f32` samples, for the capture callback.
//!
//! Samples are stored as the bits of `AtomicU32`s, so the ring is safe Rust throughout and can
//! be wiped from the consumer side: every slot is zeroed as it is read, and [`Consumer::wipe`]
//! clears the whole ring once the producer is gone. The producer never allocates, locks or
//! blocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

struct Ring {
    slots: Box<[AtomicU32]>,
    /// `slots.len() - 1`; the length is a power of two.
    mask: usize,
    /// Total samples read (wrapping); written only by the consumer.
    read: AtomicUsize,
    /// Total samples written (wrapping); written only by the producer.
    write: AtomicUsize,
}

/// The writing end; lives in the audio callback.
pub(crate) struct Producer {
    ring: Arc<Ring>,
}

/// The reading end.
pub(crate) struct Consumer {
    ring: Arc<Ring>,
}

/// A ring holding at least `capacity` samples (rounded up to a power of two).
pub(crate) fn ring(capacity: usize) -> (Producer, Consumer) {
    let len = capacity.max(2).next_power_of_two();
    let slots: Box<[AtomicU32]> = (0..len).map(|_| AtomicU32::new(0)).collect();
    let ring = Arc::new(Ring { slots, mask: len - 1, read: AtomicUsize::new(0), write: AtomicUsize::new(0) });
    (Producer { ring: Arc::clone(&ring) }, Consumer { ring })
}

impl Producer {
    /// Free slots. The consumer may free more concurrently, never fewer.
    pub(crate) fn free(&self) -> usize {
        let r = &self.ring;
        let used = r.write.load(Ordering::Relaxed).wrapping_sub(r.read.load(Ordering::Acquire));
        r.slots.len() - used
    }

    /// Appends `samples`, which must fit in [`free`](Self::free) slots (excess is dropped).
    /// No allocation, no locks.
    pub(crate) fn push(&mut self, samples: impl ExactSizeIterator<Item = f32>) {
        let r = &self.ring;
        let n = samples.len().min(self.free());
        let w = r.write.load(Ordering::Relaxed);
        for (i, s) in samples.take(n).enumerate() {
            r.slots[w.wrapping_add(i) & r.mask].store(s.to_bits(), Ordering::Relaxed);
        }
        r.write.store(w.wrapping_add(n), Ordering::Release);
    }
}

impl Consumer {
    /// Samples waiting to be read.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let r = &self.ring;
        r.write.load(Ordering::Acquire).wrapping_sub(r.read.load(Ordering::Relaxed))
    }

    /// Moves up to `max` samples to `out`, zeroing the slots they came from. Returns the count.
    pub(crate) fn pop_into(&mut self, out: &mut super::Samples, max: usize) -> usize {
        let r = &self.ring;
        let rd = r.read.load(Ordering::Relaxed);
        let available = r.write.load(Ordering::Acquire).wrapping_sub(rd);
        let n = available.min(max);
        out.reserve(n);
        for i in 0..n {
            let bits = r.slots[rd.wrapping_add(i) & r.mask].swap(0, Ordering::Relaxed);
            out.push(f32::from_bits(bits));
        }
        r.read.store(rd.wrapping_add(n), Ordering::Release);
        n
    }

    /// Zeroes every slot and empties the ring. Call once the producer is gone (a concurrent
    /// producer would only have its newest samples discarded, but they would not be wiped).
    pub(crate) fn wipe(&mut self) {
        let r = &self.ring;
        for slot in r.slots.iter() {
            slot.store(0, Ordering::Relaxed);
        }
        r.read.store(r.write.load(Ordering::Acquire), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Samples;
    use super::*;

    #[test]
    fn fifo_and_wraparound() {
        let (mut p, mut c) = ring(8);
        let mut out = Samples::new();
        for round in 0..100 {
            let base = round as f32 * 10.0;
            p.push([base, base + 1.0, base + 2.0, base + 3.0, base + 4.0].into_iter());
            assert_eq!(c.len(), 5);
            out.clear();
            assert_eq!(c.pop_into(&mut out, 3), 3);
            assert_eq!(c.pop_into(&mut out, 10), 2);
            assert_eq!(&out[..], &[base, base + 1.0, base + 2.0, base + 3.0, base + 4.0]);
        }
    }

    #[test]
    fn full_ring_drops_excess() {
        let (mut p, mut c) = ring(4);
        assert_eq!(p.free(), 4);
        p.push([1.0, 2.0, 3.0, 4.0, 5.0, 6.0].into_iter());
        assert_eq!(p.free(), 0);
        let mut out = Samples::new();
        assert_eq!(c.pop_into(&mut out, 100), 4);
        assert_eq!(&out[..], &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn read_slots_are_zeroed() {
        let (mut p, mut c) = ring(4);
        p.push([0.5, 0.25].into_iter());
        let mut out = Samples::new();
        c.pop_into(&mut out, 2);
        assert!(c.ring.slots.iter().all(|s| s.load(Ordering::Relaxed) == 0));
        p.push([0.75].into_iter());
        c.wipe();
        assert_eq!(c.len(), 0);
        assert!(c.ring.slots.iter().all(|s| s.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn concurrent_transfer_preserves_order() {
        let (mut p, mut c) = ring(64);
        let total = 200_000usize;
        let writer = std::thread::spawn(move || {
            let mut next = 0usize;
            while next < total {
                let n = p.free().min(total - next).min(17);
                p.push((next..next + n).map(|i| i as f32));
                next += n;
            }
        });
        let mut out = Samples::new();
        let mut expected = 0usize;
        while expected < total {
            out.clear();
            c.pop_into(&mut out, 23);
            for &s in out.iter() {
                assert_eq!(s, expected as f32);
                expected += 1;
            }
        }
        writer.join().unwrap();
    }
}
