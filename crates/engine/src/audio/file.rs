//! Replay source: decodes a recording with symphonia, packet by packet.

use super::{AudioChunk, AudioError, AudioSource, MAX_CHUNK_MS};
use crate::events::Speaker;
use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// Which stereo channel carries the rep (the other is the prospect).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepChannel {
    #[default]
    Left,
    Right,
}

pub struct FileSource {
    path: PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    rate: u32,
    speakers: Vec<Speaker>,
    /// Which decoded channel feeds each output channel.
    channel_map: Vec<usize>,
    pending: Vec<VecDeque<f32>>,
    finished: bool,
    skipped_packets: u64,
}

impl FileSource {
    pub fn open(path: &Path, rep_channel: RepChannel) -> Result<Self, AudioError> {
        let file = File::open(path).map_err(|source| AudioError::Open { path: path.to_owned(), source })?;
        let unsupported = |reason: String| AudioError::Unsupported { path: path.to_owned(), reason };
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let probed = symphonia::default::get_probe()
            .format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
            .map_err(|e| unsupported(format!("unrecognised container: {e}")))?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| unsupported("no audio track".into()))?;
        let track_id = track.id;
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| unsupported(format!("unsupported codec: {e}")))?;
        let rate = track.codec_params.sample_rate.unwrap_or(0);
        let declared_channels = track.codec_params.channels.map(|c| c.count());

        let mut source = FileSource {
            path: path.to_owned(),
            format,
            decoder,
            track_id,
            rate,
            speakers: Vec::new(),
            channel_map: Vec::new(),
            pending: Vec::new(),
            finished: false,
            skipped_packets: 0,
        };
        // Decode until the first buffer so rate and channel count are known for sure
        // (some containers only declare them in the stream).
        let first = source.decode_next()?;
        let Some((channels, rate)) = first.or(declared_channels.map(|c| (c, rate))) else {
            return Err(AudioError::Empty { path: path.to_owned() });
        };
        if rate == 0 {
            return Err(unsupported("unknown sample rate".into()));
        }
        source.rate = rate;
        let (speakers, map) = match (channels, rep_channel) {
            (1, _) => (vec![Speaker::Unknown], vec![0]),
            (2, RepChannel::Left) => (vec![Speaker::Rep, Speaker::Prospect], vec![0, 1]),
            (2, RepChannel::Right) => (vec![Speaker::Rep, Speaker::Prospect], vec![1, 0]),
            (n, _) => return Err(AudioError::ChannelCount { path: path.to_owned(), channels: n }),
        };
        source.speakers = speakers;
        source.channel_map = map;
        if source.pending.iter().all(VecDeque::is_empty) && source.finished {
            return Err(AudioError::Empty { path: path.to_owned() });
        }
        Ok(source)
    }

    /// Decodes one packet into `pending`; returns (channels, rate) of what it decoded.
    fn decode_next(&mut self) -> Result<Option<(usize, u32)>, AudioError> {
        loop {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(SymError::ResetRequired) => {
                    self.finished = true;
                    return Ok(None);
                }
                Err(e) => return Err(AudioError::Corrupt { path: self.path.clone(), reason: e.to_string() }),
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(decoded) => {
                    let spec = *decoded.spec();
                    let channels = spec.channels.count();
                    if decoded.frames() == 0 {
                        continue;
                    }
                    let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
                    buf.copy_interleaved_ref(decoded);
                    if self.pending.len() != channels {
                        self.pending = vec![VecDeque::new(); channels];
                    }
                    for frame in buf.samples().chunks_exact(channels) {
                        for (ch, sample) in frame.iter().enumerate() {
                            self.pending[ch].push_back(*sample);
                        }
                    }
                    return Ok(Some((channels, spec.rate)));
                }
                // A damaged packet: skip it like a player would, and say so once in a while.
                Err(SymError::DecodeError(e)) => {
                    self.skipped_packets += 1;
                    if self.skipped_packets == 1 || self.skipped_packets.is_multiple_of(100) {
                        tracing::warn!(path = %self.path.display(), skipped = self.skipped_packets, "skipping undecodable audio packet: {e}");
                    }
                    if self.skipped_packets > 10_000 {
                        return Err(AudioError::Corrupt {
                            path: self.path.clone(),
                            reason: format!("more than 10000 undecodable packets ({e})"),
                        });
                    }
                }
                Err(e) => return Err(AudioError::Corrupt { path: self.path.clone(), reason: e.to_string() }),
            }
        }
    }
}

impl AudioSource for FileSource {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn speakers(&self) -> &[Speaker] {
        &self.speakers
    }

    fn sample_rate(&self) -> u32 {
        self.rate
    }

    fn next_chunk(&mut self) -> Result<Option<AudioChunk>, AudioError> {
        let max_frames = (self.rate * MAX_CHUNK_MS / 1000) as usize;
        while !self.finished && self.pending.first().map_or(0, VecDeque::len) < max_frames {
            self.decode_next()?;
        }
        let available = self.pending.first().map_or(0, VecDeque::len);
        if available == 0 {
            return Ok(None);
        }
        let take = available.min(max_frames);
        let channels =
            self.channel_map.iter().map(|&src| self.pending[src].iter().take(take).copied().collect()).collect();
        for queue in &mut self.pending {
            queue.drain(..take.min(queue.len()));
        }
        Ok(Some(AudioChunk { channels }))
    }
}
