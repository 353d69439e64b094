//! What the shell keeps between commands: the running session, the settings, and a
//! matcher for the Library panel's searches (warmed up at launch, handed to the next
//! session).

use crate::settings::{read_json, Paths, Settings};
use cuecard_engine::library::Library;
use cuecard_engine::matcher::Matcher;
use cuecard_engine::setup::MatcherKind;
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// `SessionState` in the contract.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SessionState {
    pub running: bool,
    pub kind: Option<&'static str>,
    pub call_id: Option<i64>,
    pub source: Option<String>,
}

pub struct Running {
    pub state: SessionState,
    pub stop: Arc<AtomicBool>,
}

/// The session slot: at most one session at a time, and none while one is being set up.
#[derive(Default)]
pub enum Slot {
    #[default]
    Idle,
    Starting,
    Running(Running),
}

/// A built matcher for the Library panel's searches; the next session takes it over.
pub struct SearchMatcher {
    pub kind: MatcherKind,
    pub threshold: Option<f32>,
    pub matcher: Box<dyn Matcher>,
    pub library: Library,
}

pub struct AppState {
    pub paths: Paths,
    pub session: Mutex<Slot>,
    pub settings: Mutex<Settings>,
    pub search: Mutex<Option<SearchMatcher>>,
}

impl AppState {
    pub fn load(paths: Paths) -> AppState {
        let settings = read_json(&paths.settings).unwrap_or_default();
        AppState { paths, session: Mutex::new(Slot::Idle), settings: Mutex::new(settings), search: Mutex::new(None) }
    }

    pub fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn session_state(&self) -> SessionState {
        match &*self.session.lock().unwrap_or_else(|p| p.into_inner()) {
            Slot::Running(r) => r.state.clone(),
            _ => SessionState::default(),
        }
    }
}
