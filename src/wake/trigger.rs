//! When a score becomes a detection: the warm-up after start or reset, the threshold, and the
//! refractory period counted in audio samples. Pure arithmetic, no models.

use std::time::Duration;

use crate::audio::SAMPLE_RATE;

/// Prediction frames forced to 0 after start or reset, as openWakeWord does while its buffers
/// still hold start-up values rather than audio.
pub(super) const WARMUP_FRAMES: u32 = 5;

/// Decides, frame by frame, whether a classifier score fires the wake word.
#[derive(Debug, Clone)]
pub(super) struct Trigger {
    /// Scores at or above this fire (a score of 0 never does).
    threshold: f32,
    /// No second detection until this many samples have been fed after the last one.
    refractory_samples: u64,
    /// Frames still to be forced to 0.
    warmup_left: u32,
    /// Samples fed since the last detection; `None` before the first one (or after a reset).
    since_detection: Option<u64>,
}

impl Trigger {
    /// A trigger in its start-up state.
    pub(super) fn new(threshold: f32, refractory: Duration) -> Self {
        let refractory_samples = (refractory.as_secs_f64() * f64::from(SAMPLE_RATE)).ceil() as u64;
        Trigger { threshold, refractory_samples, warmup_left: WARMUP_FRAMES, since_detection: None }
    }

    /// Takes the classifier's score for a frame covering `samples` new samples. Returns the
    /// score as reported (0 during warm-up) and whether the wake word fires on this frame.
    pub(super) fn step(&mut self, raw_score: f32, samples: usize) -> (f32, bool) {
        let score = if self.warmup_left > 0 {
            self.warmup_left -= 1;
            0.0
        } else {
            raw_score
        };
        if let Some(since) = self.since_detection.as_mut() {
            *since = since.saturating_add(samples as u64);
        }
        let quiet = self.since_detection.is_none_or(|since| since >= self.refractory_samples);
        let fire = score > 0.0 && score >= self.threshold && quiet;
        if fire {
            self.since_detection = Some(0);
        }
        (score, fire)
    }

    /// Back to the start-up state: warm-up again, no refractory period running.
    pub(super) fn reset(&mut self) {
        self.warmup_left = WARMUP_FRAMES;
        self.since_detection = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: usize = crate::audio::BLOCK_SAMPLES;

    /// Feeds `scores` one block each and returns the indices that fired.
    fn fired(trigger: &mut Trigger, scores: &[f32]) -> Vec<usize> {
        scores.iter().enumerate().filter(|&(_, &s)| trigger.step(s, BLOCK).1).map(|(i, _)| i).collect()
    }

    #[test]
    fn the_first_five_frames_score_zero() {
        let mut t = Trigger::new(0.5, Duration::ZERO);
        let reported: Vec<f32> = (0..7).map(|_| t.step(0.9, BLOCK).0).collect();
        assert_eq!(reported, [0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.9]);
    }

    #[test]
    fn fires_at_the_threshold_not_below() {
        let mut t = Trigger::new(0.5, Duration::ZERO);
        assert_eq!(fired(&mut t, &[1.0, 1.0, 1.0, 1.0, 1.0, 0.49, 0.5, 0.51]), [6, 7]);
    }

    #[test]
    fn a_zero_score_never_fires_even_with_threshold_zero() {
        let mut t = Trigger::new(0.0, Duration::ZERO);
        assert_eq!(fired(&mut t, &[0.0; 10]), Vec::<usize>::new());
    }

    #[test]
    fn refractory_is_counted_in_audio_samples() {
        // 2 s = 32000 samples = 25 blocks of 1280: a detection at block 5 blocks blocks 6..=29,
        // and block 30 (25 blocks = exactly 2 s later) may fire again.
        let mut t = Trigger::new(0.5, Duration::from_secs(2));
        assert_eq!(fired(&mut t, &[0.9; 40]), [5, 30]);
    }

    #[test]
    fn refractory_rounds_up_to_whole_blocks() {
        // 100 ms is more than one block (80 ms): the next detection comes two blocks later.
        let mut t = Trigger::new(0.5, Duration::from_millis(100));
        assert_eq!(fired(&mut t, &[0.9; 10]), [5, 7, 9]);
    }

    #[test]
    fn short_blocks_count_only_their_samples() {
        let mut t = Trigger::new(0.5, Duration::from_millis(80));
        for _ in 0..WARMUP_FRAMES {
            t.step(0.0, BLOCK);
        }
        assert!(t.step(0.9, BLOCK).1);
        assert!(!t.step(0.9, BLOCK / 2).1, "half a block is not 80 ms");
        assert!(t.step(0.9, BLOCK / 2).1, "two halves are");
    }

    #[test]
    fn reset_restarts_warmup_and_ends_the_refractory_period() {
        let mut t = Trigger::new(0.5, Duration::from_secs(10));
        assert_eq!(fired(&mut t, &[0.9; 8]), [5]);
        t.reset();
        assert_eq!(fired(&mut t, &[0.9; 8]), [5], "warm-up again, then a fresh detection");
    }
}
