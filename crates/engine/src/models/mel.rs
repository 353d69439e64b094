//! Mel filter bank stored in whisper ggml files.
//!
//! Whisper was trained with librosa's `filters.mel(sr=16000, n_fft=400, n_mels=80)`:
//! Slaney mel scale, Slaney area normalisation, `fmin = 0`, `fmax = sr / 2`. We follow
//! librosa's arithmetic step by step (f64 maths, triangle weights rounded to f32, then
//! multiplied in f64 by the normalisation factor and rounded to f32 again).

/// Slaney scale: linear below 1 kHz, logarithmic above.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

// `black_box` keeps the optimiser from constant-folding ln/exp with its own maths:
// folded results differ in the last bit from the C library numpy uses at run time,
// and the converted model is pinned by checksum in every build profile.
use std::hint::black_box;

fn logstep() -> f64 {
    black_box(6.4f64).ln() / 27.0
}

/// Hz to mel (Slaney).
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + black_box(hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

/// Mel to Hz (Slaney).
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * black_box(logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// The filter bank as `n_mels` rows of `n_fft / 2 + 1` weights, row-major.
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let sr = f64::from(sample_rate);
    let n_bins = n_fft / 2 + 1;
    if n_mels == 0 || n_bins == 0 {
        return Vec::new();
    }

    // numpy.fft.rfftfreq(n_fft, 1/sr): i * (1 / (n_fft * (1/sr)))
    let val = 1.0 / (n_fft as f64 * (1.0 / sr));
    let fft_freqs: Vec<f64> = (0..n_bins).map(|i| i as f64 * val).collect();

    // n_mels + 2 points evenly spaced on the mel scale (numpy.linspace), back to Hz.
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(sr / 2.0);
    let points = n_mels + 2;
    let step = (max_mel - min_mel) / (points - 1) as f64;
    let mel_f: Vec<f64> = (0..points)
        .map(|i| {
            let m = if i == points - 1 { max_mel } else { i as f64 * step + min_mel };
            mel_to_hz(m)
        })
        .collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();

    let mut weights = vec![0f32; n_mels * n_bins];
    for m in 0..n_mels {
        let enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = -(mel_f[m] - f) / fdiff[m];
            let upper = (mel_f[m + 2] - f) / fdiff[m + 1];
            // Explicit comparisons, not f64::min/max: those may pick either signed zero
            // depending on the optimiser, and librosa's matrix has one -0.0 (bin 0).
            let t = if lower <= upper { lower } else { upper };
            let tri = (if t >= 0.0 { t } else { 0.0 }) as f32;
            weights[m * n_bins + k] = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

/// Whisper's filter bank: 80 mels over 201 bins of a 400-point FFT at 16 kHz.
pub fn whisper_mel_filters(n_mels: usize) -> Vec<f32> {
    mel_filters(16_000, 400, n_mels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_support() {
        let m = whisper_mel_filters(80);
        assert_eq!(m.len(), 80 * 201);
        assert!(m.iter().all(|v| v.is_finite() && *v >= 0.0));
        for row in m.chunks(201) {
            assert!(row.iter().any(|v| *v > 0.0), "every mel band has some weight");
            // Nyquist bin is never covered (the top band ends exactly at 8 kHz).
            assert_eq!(row[200], 0.0);
        }
        // Band 0 only touches bin 1 (40 Hz); DC is never used.
        assert!(m[..201].iter().enumerate().all(|(k, v)| (k == 1) == (*v > 0.0)));
    }

    #[test]
    fn matches_librosa_values() {
        // Values from librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=80)` (f32 bits).
        let m = whisper_mel_filters(80);
        let at = |band: usize, bin: usize| m[band * 201 + bin];
        let expect = [
            (0, 1, 1019980964u32),
            (1, 1, 990017651),
            (1, 2, 1018912149),
            (2, 2, 998406259),
            (2, 3, 1017843335),
            (20, 19, 1010025662),
            (20, 20, 1013159049),
            (40, 42, 1001476003),
            (40, 43, 1014066546),
            (60, 90, 985401084),
            (60, 91, 996247059),
            (79, 186, 968902460),
            (79, 187, 979001954),
            (79, 190, 991053739),
            (79, 199, 971720554),
        ];
        for (band, bin, bits) in expect {
            let want = f32::from_bits(bits);
            let got = at(band, bin);
            assert!((got - want).abs() <= want * 1e-6, "mel[{band}][{bin}] = {got:e}, librosa {want:e}");
        }
        // Sums of a few rows (librosa: 0.024862595, 0.024862593, 0.026664861, 0.02492534).
        let sum = |band: usize| m[band * 201..(band + 1) * 201].iter().map(|v| f64::from(*v)).sum::<f64>();
        for (band, want) in [(0, 0.024862595), (1, 0.024862593), (40, 0.026664861), (79, 0.02492534)] {
            assert!((sum(band) - want).abs() < 1e-7, "row {band} sums to {}", sum(band));
        }
    }

    /// Bit-identical to librosa 0.11: SHA-256 of the 80x201 little-endian f32 matrix.
    #[test]
    fn bit_identical_to_librosa() {
        use sha2::{Digest, Sha256};
        let bytes: Vec<u8> = whisper_mel_filters(80).iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            "4f2701b1d287d74a0dc9871026e9519d98cb76426615f2539b0d151a0ae4ec2e"
        );
    }

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9);
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }
}
