//! The mel filterbank whisper.cpp reads from the model file.
//!
//! Whisper uses `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)`: Slaney mel scale
//! (`htk=False`), Slaney area normalisation, fmin 0, fmax sr/2, 201 frequency bins. This is a
//! re-derivation of that formula, following librosa's arithmetic (f64, with the weights rounded
//! to f32 before the normalisation, as librosa's float32 output array does) so the values match
//! to the last bit or two.

/// Whisper's sample rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Whisper's FFT size; the filterbank has `N_FFT / 2 + 1` = 201 columns.
pub const N_FFT: usize = 400;

const F_SP: f64 = 200.0 / 3.0; // Hz per mel in the linear part
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Slaney's mel scale: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel }
}

/// The `n_mels` x (`n_fft`/2 + 1) filterbank, row-major, for fmin 0 and fmax `sample_rate`/2.
pub fn filterbank(n_mels: usize, n_fft: usize, sample_rate: u32) -> Vec<f32> {
    let n_freqs = n_fft / 2 + 1;
    let sr = f64::from(sample_rate);

    // numpy.fft.rfftfreq(n_fft, 1/sr)
    let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * bin_hz).collect();

    // numpy.linspace(hz_to_mel(0), hz_to_mel(sr/2), n_mels + 2), then back to Hz.
    let n_points = n_mels + 2;
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let step = (hi - lo) / (n_points - 1) as f64;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            let mel = if i == n_points - 1 { hi } else { i as f64 * step + lo };
            mel_to_hz(mel)
        })
        .collect();

    let mut weights = vec![0.0f32; n_mels * n_freqs];
    for i in 0..n_mels {
        let (left, center, right) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let enorm = 2.0 / (right - left);
        for (j, f) in fft_freqs.iter().enumerate() {
            let lower = -(left - f) / (center - left);
            let upper = (right - f) / (right - center);
            let w = lower.min(upper).max(0.0) as f32;
            weights[i * n_freqs + j] = (f64::from(w) * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)` (librosa 0.11.0).
    const LIBROSA: &[(usize, usize, f32)] = &[
        (0, 1, 0.024_862_595),
        (1, 1, 0.001_990_822),
        (1, 2, 0.022_871_772),
        (7, 7, 0.013_935_752),
        (20, 20, 0.013_890_394),
        (39, 40, 0.001_418_047_6),
        (40, 43, 0.014_735_566),
        (55, 77, 0.007_283_343_5),
        (70, 136, 0.004_571_974_3),
        (79, 186, 0.000_366_741_67),
        (79, 192, 0.003_164_711_9),
        (79, 199, 0.000_448_759),
    ];

    #[test]
    fn matches_librosa() {
        let fb = filterbank(80, N_FFT, SAMPLE_RATE);
        assert_eq!(fb.len(), 80 * 201);
        for &(m, k, want) in LIBROSA {
            let got = fb[m * 201 + k];
            assert!((got - want).abs() <= want * 1e-6, "mel {m} bin {k}: got {got}, librosa {want}");
        }
        // Zeros where librosa has zeros.
        for (m, k) in [(0, 0), (0, 2), (1, 3), (40, 60), (79, 200), (79, 185)] {
            assert_eq!(fb[m * 201 + k], 0.0, "mel {m} bin {k}");
        }
        // librosa: 391 non-zero weights summing to 1.9990242.
        assert_eq!(fb.iter().filter(|w| **w != 0.0).count(), 391);
        let sum: f64 = fb.iter().map(|w| f64::from(*w)).sum();
        assert!((sum - 1.999_024_2).abs() < 1e-5, "{sum}");
    }

    #[test]
    fn mel_scale_round_trips() {
        for hz in [0.0, 440.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }
}
