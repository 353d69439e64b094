//! Writes what a session hears to a WAV file (rep left, prospect right, 16 kHz), the
//! raw material for replay practice. Written beside the target and renamed at the end,
//! so a crash never leaves a half-written file under the asked-for name.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::{AudioError, ENGINE_RATE};

pub struct WavRecorder {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    temp: tempfile::TempPath,
}

impl WavRecorder {
    pub fn create(path: &Path, channels: usize) -> Result<Self, AudioError> {
        let err = |reason: String| AudioError::Record { path: path.to_owned(), reason };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".cuecard-recording")
            .suffix(".wav")
            .tempfile_in(dir)
            .map_err(|e| err(format!("{e} (does the folder exist and is it writable?)")))?;
        let (file, temp) = tmp.into_parts();
        let spec = hound::WavSpec {
            channels: channels as u16,
            sample_rate: ENGINE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| err(e.to_string()))?;
        Ok(WavRecorder { path: path.to_owned(), writer, temp })
    }

    /// Appends planar 16 kHz samples.
    pub fn write(&mut self, pcm: &[Vec<f32>]) -> Result<(), AudioError> {
        let frames = pcm.first().map_or(0, Vec::len);
        for i in 0..frames {
            for ch in pcm {
                let s = (ch[i].clamp(-1.0, 1.0) * i16::MAX as f32) as i16;
                self.writer
                    .write_sample(s)
                    .map_err(|e| AudioError::Record { path: self.path.clone(), reason: e.to_string() })?;
            }
        }
        Ok(())
    }

    /// Completes the header and moves the file into place.
    pub fn finish(self) -> Result<PathBuf, AudioError> {
        let err = |reason: String| AudioError::Record { path: self.path.clone(), reason };
        self.writer.finalize().map_err(|e| err(e.to_string()))?;
        self.temp.persist(&self.path).map_err(|e| err(e.to_string()))?;
        Ok(self.path)
    }
}
