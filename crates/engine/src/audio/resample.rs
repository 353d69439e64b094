//! Converts any source rate to the engine's 16 kHz, per channel, streaming.

use super::{AudioChunk, AudioError, ENGINE_RATE};
use rubato::{FftFixedIn, Resampler as _};

pub struct Resampler {
    from: u32,
    inner: Option<FftFixedIn<f32>>,
    input: Vec<Vec<f32>>,
    /// Output frames still to discard: the resampler's own delay, so timing stays exact.
    delay_left: usize,
    frames_in: u64,
    frames_out: u64,
}

impl Resampler {
    pub fn new(from: u32, channels: usize) -> Result<Self, AudioError> {
        let inner = if from == ENGINE_RATE {
            None
        } else {
            let chunk = (from as usize / 100).max(64); // ~10 ms of input per FFT block
            let r = FftFixedIn::<f32>::new(from as usize, ENGINE_RATE as usize, chunk, 2, channels)
                .map_err(|e| AudioError::Resample { from, to: ENGINE_RATE, reason: e.to_string() })?;
            Some(r)
        };
        let delay_left = inner.as_ref().map_or(0, |r| r.output_delay());
        Ok(Resampler { from, inner, input: vec![Vec::new(); channels], delay_left, frames_in: 0, frames_out: 0 })
    }

    /// Feeds a chunk at the source rate; returns whatever 16 kHz audio is ready.
    pub fn push(&mut self, chunk: AudioChunk) -> Result<Vec<Vec<f32>>, AudioError> {
        let Some(r) = self.inner.as_mut() else {
            return Ok(chunk.channels);
        };
        self.frames_in += chunk.frames() as u64;
        for (buf, ch) in self.input.iter_mut().zip(chunk.channels) {
            buf.extend(ch);
        }
        let mut out = vec![Vec::new(); self.input.len()];
        loop {
            let need = r.input_frames_next();
            if self.input[0].len() < need {
                break;
            }
            let block: Vec<Vec<f32>> = self.input.iter_mut().map(|b| b.drain(..need).collect()).collect();
            let produced = r.process(&block, None).map_err(|e| AudioError::Resample {
                from: self.from,
                to: ENGINE_RATE,
                reason: e.to_string(),
            })?;
            for (o, p) in out.iter_mut().zip(produced) {
                o.extend(p);
            }
        }
        Ok(self.trim_delay(out))
    }

    /// Flushes the tail at the end of the audio.
    pub fn finish(&mut self) -> Result<Vec<Vec<f32>>, AudioError> {
        let Some(r) = self.inner.as_mut() else {
            return Ok(vec![Vec::new(); self.input.len()]);
        };
        let mut out = vec![Vec::new(); self.input.len()];
        let rest = std::mem::take(&mut self.input);
        // What the whole stream should come to, minus what was already handed out.
        let total = self.frames_in * u64::from(ENGINE_RATE) / u64::from(self.from);
        let expected = total.saturating_sub(self.frames_out) as usize;
        // The real tail first (rubato rejects an empty one), then zeros until the
        // resampler's delay line has been pushed out.
        let mut tail = (!rest[0].is_empty()).then_some(rest);
        let wanted = expected + self.delay_left;
        for _ in 0..8 {
            if tail.is_none() && out[0].len() >= wanted {
                break;
            }
            let produced = match tail.take() {
                Some(block) => r.process_partial(Some(&block), None),
                None => r.process_partial::<Vec<f32>>(None, None),
            }
            .map_err(|e| AudioError::Resample {
                from: self.from,
                to: ENGINE_RATE,
                reason: e.to_string(),
            })?;
            for (o, p) in out.iter_mut().zip(produced) {
                o.extend(p);
            }
        }
        self.input = vec![Vec::new(); out.len()];
        let mut out = self.trim_delay(out);
        for ch in &mut out {
            ch.truncate(expected);
        }
        Ok(out)
    }

    fn trim_delay(&mut self, mut out: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
        if self.delay_left > 0 {
            let cut = self.delay_left.min(out[0].len());
            for ch in &mut out {
                ch.drain(..cut);
            }
            self.delay_left -= cut;
        }
        self.frames_out += out[0].len() as u64;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, secs: f32, hz: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| (i as f32 / rate as f32 * hz * std::f32::consts::TAU).sin() * 0.5)
            .collect()
    }

    #[test]
    fn resamples_48k_to_16k_keeping_length_and_tone() {
        let input = sine(48_000, 1.0, 440.0);
        let mut r = Resampler::new(48_000, 1).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(4_800) {
            out.extend(r.push(AudioChunk { channels: vec![piece.to_vec()] }).unwrap().remove(0));
        }
        out.extend(r.finish().unwrap().remove(0));
        assert!((out.len() as i64 - 16_000).abs() <= 16, "got {} frames", out.len());
        let rms = (out[2000..14000].iter().map(|s| s * s).sum::<f32>() / 12000.0).sqrt();
        assert!((rms - 0.3535).abs() < 0.02, "rms {rms}");
    }

    #[test]
    fn passes_16k_through_untouched() {
        let mut r = Resampler::new(16_000, 2).unwrap();
        let out = r.push(AudioChunk { channels: vec![vec![0.1; 10], vec![0.2; 10]] }).unwrap();
        assert_eq!(out, vec![vec![0.1; 10], vec![0.2; 10]]);
    }
}
