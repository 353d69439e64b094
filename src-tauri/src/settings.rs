//! The app's settings (`Settings` in ui/src/ipc/contract.ts) and the overlay's remembered
//! position: small JSON files in cuecard's data folder, written atomically.

use cuecard_engine::setup::MatcherKind;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    #[default]
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PaceName {
    #[default]
    Realtime,
    Fast,
}

/// Overlay keys (KeyboardEvent.key values, handled by the overlay page itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hotkeys {
    pub next: String,
    pub previous: String,
    pub dismiss: String,
    pub pin: String,
    pub helpful: String,
    pub used: String,
}

impl Default for Hotkeys {
    fn default() -> Self {
        Hotkeys {
            next: "Tab".into(),
            previous: "Shift+Tab".into(),
            dismiss: "Escape".into(),
            pin: "p".into(),
            helpful: "h".into(),
            used: "Enter".into(),
        }
    }
}

/// Missing fields take the defaults (older files, or a UI that sends fewer fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub mic: Option<String>,
    pub loopback: Option<String>,
    pub rep_channel: Side,
    pub model: String,
    pub matcher: MatcherKind,
    pub threshold: Option<f32>,
    pub card_fade_s: f64,
    pub replay_pace: PaceName,
    pub hotkeys: Hotkeys,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mic: None,
            loopback: None,
            rep_channel: Side::Left,
            model: "tiny.en".into(),
            matcher: MatcherKind::Hybrid,
            threshold: None,
            card_fade_s: 12.0,
            replay_pace: PaceName::Realtime,
            hotkeys: Hotkeys::default(),
        }
    }
}

impl Settings {
    /// What the UI may not store: out-of-range numbers, empty keys or model.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = self.threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(format!("card threshold {t} is outside 0–1"));
            }
        }
        if !(self.card_fade_s.is_finite() && (1.0..=3600.0).contains(&self.card_fade_s)) {
            return Err(format!("card time {} s: give 1 to 3600 seconds", self.card_fade_s));
        }
        if self.model.trim().is_empty() {
            return Err("choose a speech model".into());
        }
        let k = &self.hotkeys;
        for (what, key) in [
            ("next", &k.next),
            ("previous", &k.previous),
            ("dismiss", &k.dismiss),
            ("pin", &k.pin),
            ("helpful", &k.helpful),
            ("used", &k.used),
        ] {
            if key.trim().is_empty() {
                return Err(format!("the {what} key is empty"));
            }
        }
        Ok(())
    }
}

/// Where the app keeps its files: cuecard's data folder (`$CUECARD_HOME` when set), the
/// same one the CLI uses for its database.
#[derive(Debug, Clone)]
pub struct Paths {
    pub db: PathBuf,
    pub settings: PathBuf,
    pub overlay: PathBuf,
}

impl Paths {
    pub fn from_env() -> Paths {
        let home = cuecard_engine::data_home();
        Paths {
            db: cuecard_engine::store::Store::default_path(),
            settings: home.join("settings.json"),
            overlay: home.join("overlay-window.json"),
        }
    }
}

/// Reads a JSON file; a missing file gives `None`, an unreadable one is logged and ignored.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("reading {}: {e}", path.display());
            return None;
        }
    };
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!("{}: {e} (using defaults)", path.display());
            None
        }
    }
}

/// Writes `value` as JSON next to `path` and renames it into place, so a crash leaves
/// either the old file or the new one, never half of one.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<(), String> {
    let dir = path.parent().ok_or_else(|| format!("{} has no folder", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| format!("writing in {}: {e}", dir.display()))?;
    let json = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    tmp.write_all(&json)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    tmp.persist(path).map_err(|e| format!("saving {}: {}", path.display(), e.error))?;
    Ok(())
}

/// The overlay's last position (physical pixels, top-left corner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayPosition {
    pub x: i32,
    pub y: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        assert_eq!(read_json::<Settings>(&path), None);
        let s = Settings { matcher: MatcherKind::Bm25, threshold: Some(0.4), ..Settings::default() };
        write_json_atomic(&path, &s).unwrap();
        assert_eq!(read_json::<Settings>(&path), Some(s));
        // Partial file (as an older version or the UI might write): defaults fill in.
        std::fs::write(&path, r#"{"matcher":"semantic","hotkeys":{"pin":"P"}}"#).unwrap();
        let s: Settings = read_json(&path).unwrap();
        assert_eq!(s.matcher, MatcherKind::Semantic);
        assert_eq!(s.hotkeys.pin, "P");
        assert_eq!(s.hotkeys.helpful, "h");
        assert_eq!(s.card_fade_s, 12.0);
    }

    #[test]
    fn validation() {
        let mut s = Settings::default();
        assert!(s.validate().is_ok());
        s.threshold = Some(1.5);
        assert!(s.validate().is_err());
        s.threshold = None;
        s.hotkeys.pin = " ".into();
        assert!(s.validate().unwrap_err().contains("pin"));
    }
}
