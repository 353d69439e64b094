//! The IPC commands of ui/src/ipc/contract.ts. Every command takes snake_case argument
//! keys and fails with a human-readable `Err(String)`. Anything slow (loading models,
//! enumerating devices, installing) runs off the UI thread.

use crate::settings::{write_json_atomic, PaceName, Settings, Side};
use crate::state::{AppState, Running, SearchMatcher, SessionState, Slot};
use cuecard_engine::audio::live::{list_devices as engine_devices, LiveConfig, LiveSource};
use cuecard_engine::audio::{AudioSource, FileSource, Pace, Paced, RepChannel};
use cuecard_engine::events::Event;
use cuecard_engine::matcher::Matcher;
use cuecard_engine::models::{InstallProgress, ModelManager, ModelStatus};
use cuecard_engine::session::{self, SessionConfig, SessionParts};
use cuecard_engine::setup;
use cuecard_engine::store::{CallRecord, Store};
use cuecard_engine::transcribe::Transcriber;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager, State};

pub const EV_ENGINE: &str = "engine-event";
pub const EV_LEVEL: &str = "level";
pub const EV_MODEL_PROGRESS: &str = "model-progress";
pub const EV_SESSION: &str = "session-state";
pub const EV_SETTINGS: &str = "settings-changed";
pub const EV_OVERLAY_ACTION: &str = "overlay-action";

type CmdResult<T> = Result<T, String>;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs `f` on the blocking pool (never on the UI thread).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> CmdResult<T> + Send + 'static) -> CmdResult<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(|e| format!("internal error: {e}"))?
}

fn models() -> ModelManager {
    ModelManager::new(ModelManager::default_dir())
}

#[derive(Serialize)]
pub struct SessionStarted {
    pub call_id: Option<i64>,
}

// ------------------------------------------------------------------ sessions

/// Claims the session slot, or explains why a new session cannot start.
fn claim(state: &AppState) -> CmdResult<()> {
    let mut slot = state.session.lock().unwrap_or_else(|p| p.into_inner());
    match *slot {
        Slot::Idle => {
            *slot = Slot::Starting;
            Ok(())
        }
        Slot::Starting => Err("a session is already starting".into()),
        Slot::Running(_) => Err("a session is already running: stop it first".into()),
    }
}

fn release(app: &AppHandle) {
    let state = app.state::<AppState>();
    *state.session.lock().unwrap_or_else(|p| p.into_inner()) = Slot::Idle;
}

/// Loads the speech model and matcher the settings name, starts the engine on `source`,
/// and forwards its events to every window from a plain thread until it ends.
fn run_session(
    app: AppHandle,
    source: Box<dyn AudioSource>,
    kind: &'static str,
    what: String,
    lockstep: bool,
) -> CmdResult<SessionStarted> {
    let state = app.state::<AppState>();
    let settings = state.settings();
    let manager = models();
    let model = manager.resolve(&settings.model).map_err(err)?;
    // The matcher warmed up at launch (waiting for it if it is still being built) moves
    // into the session: one copy of the embedding model in memory, and a fast start.
    let warm = state.search.lock().unwrap_or_else(|p| p.into_inner()).take();
    let (matcher, library) = match warm {
        Some(w) if w.kind == settings.matcher && w.threshold == settings.threshold => (w.matcher, w.library),
        _ => {
            let built =
                setup::build_matcher(Some(settings.matcher), &state.paths.db, None, settings.threshold, &manager)
                    .map_err(err)?;
            (built.matcher, built.library)
        }
    };
    // The vocabulary prompt stays off: measured on the dev calls, no gain and slower (README).
    let transcriber = Transcriber::load(&model, setup::transcriber_config(&library, false)).map_err(err)?;
    let store = Store::open(&state.paths.db).map_err(err)?;
    let parts = SessionParts { source, transcriber, matcher, library, store: Some(store) };
    let cfg = SessionConfig { kind: kind.into(), lockstep, levels: true, ..SessionConfig::default() };
    let handle = session::start(parts, cfg).map_err(err)?;
    let running = SessionState { running: true, kind: Some(kind), call_id: handle.call_id, source: Some(what) };
    *state.session.lock().unwrap_or_else(|p| p.into_inner()) =
        Slot::Running(Running { state: running.clone(), stop: handle.stop_flag() });
    let _ = app.emit(EV_SESSION, &running);
    let call_id = handle.call_id;
    let forward = app.clone();
    std::thread::Builder::new()
        .name("cuecard-events".into())
        .spawn(move || {
            for ev in handle.events.clone().iter() {
                let name = if matches!(ev, Event::Level(_)) { EV_LEVEL } else { EV_ENGINE };
                if let Err(e) = forward.emit(name, &ev) {
                    tracing::warn!("forwarding an engine event: {e}");
                }
            }
            if let Err(e) = handle.join() {
                tracing::error!("session ended with an error: {e}");
                let _ = forward
                    .emit(EV_ENGINE, json!({"type": "warning", "kind": "session_failed", "message": e.to_string()}));
            }
            release(&forward);
            let _ = forward.emit(EV_SESSION, SessionState::default());
        })
        .map_err(err)?;
    Ok(SessionStarted { call_id })
}

/// Runs `open` + `run_session` off the UI thread with the slot claimed; releases it on error.
async fn start_session(
    app: AppHandle,
    kind: &'static str,
    what: String,
    lockstep: bool,
    open: impl FnOnce() -> CmdResult<Box<dyn AudioSource>> + Send + 'static,
) -> CmdResult<SessionStarted> {
    claim(&app.state::<AppState>())?;
    let app2 = app.clone();
    let r = blocking(move || run_session(app2, open()?, kind, what, lockstep)).await;
    if r.is_err() {
        release(&app);
    }
    r
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_replay(app: AppHandle, path: String, pace: PaceName) -> CmdResult<SessionStarted> {
    let file = PathBuf::from(path.trim());
    if !file.is_file() {
        return Err(format!("{}: no such file", file.display()));
    }
    let rep = match app.state::<AppState>().settings().rep_channel {
        Side::Left => RepChannel::Left,
        Side::Right => RepChannel::Right,
    };
    let pace = match pace {
        PaceName::Realtime => Pace::Realtime,
        PaceName::Fast => Pace::Fast,
    };
    let what = file.display().to_string();
    start_session(app, "replay", what, pace == Pace::Fast, move || {
        let source = FileSource::open(&file, rep).map_err(err)?;
        Ok(Box::new(Paced::new(source, pace)) as Box<dyn AudioSource>)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn start_live(app: AppHandle, mic: Option<String>, loopback: Option<String>) -> CmdResult<SessionStarted> {
    let what =
        format!("mic {} + loopback {}", mic.as_deref().unwrap_or("default"), loopback.as_deref().unwrap_or("default"));
    start_session(app, "live", what, false, move || {
        let cfg = LiveConfig { mic, loopback, silence_warning: Duration::from_secs(60) };
        Ok(Box::new(LiveSource::open(cfg).map_err(err)?) as Box<dyn AudioSource>)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub fn stop_session(state: State<'_, AppState>) -> CmdResult<()> {
    match &*state.session.lock().unwrap_or_else(|p| p.into_inner()) {
        Slot::Running(r) => {
            r.stop.store(true, Ordering::SeqCst);
            Ok(())
        }
        Slot::Starting => Err("the session is still starting; try again in a moment".into()),
        Slot::Idle => Ok(()),
    }
}

#[tauri::command(rename_all = "snake_case")]
pub fn get_session(state: State<'_, AppState>) -> SessionState {
    state.session_state()
}

// ------------------------------------------------------------------ devices

#[derive(Serialize, Debug, PartialEq)]
pub struct AudioDevice {
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

#[derive(Serialize, Debug, Default)]
pub struct DeviceList {
    pub mics: Vec<AudioDevice>,
    pub loopbacks: Vec<AudioDevice>,
}

/// Microphones are inputs that are not monitors; loopbacks are monitor inputs (default
/// when they monitor the default output) and outputs captured directly (their loopback
/// id is their own id).
fn split_devices(all: Vec<cuecard_engine::audio::live::DeviceInfo>) -> DeviceList {
    let mut out = DeviceList::default();
    let default_output_loopback: Option<String> =
        all.iter().find(|d| d.direction == "output" && d.is_default).and_then(|d| d.loopback_id.clone());
    for d in &all {
        match (d.direction, d.is_monitor) {
            ("input", false) => {
                out.mics.push(AudioDevice { id: d.id.clone(), name: d.name.clone(), is_default: d.is_default })
            }
            ("input", true) => out.loopbacks.push(AudioDevice {
                id: d.id.clone(),
                name: d.name.clone(),
                is_default: default_output_loopback.as_deref() == Some(d.id.as_str()),
            }),
            _ if d.loopback_id.as_deref() == Some(d.id.as_str()) => out.loopbacks.push(AudioDevice {
                id: d.id.clone(),
                name: format!("{} (what it plays)", d.name),
                is_default: d.is_default,
            }),
            _ => {}
        }
    }
    out
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_devices() -> CmdResult<DeviceList> {
    blocking(|| Ok(split_devices(engine_devices().map_err(err)?))).await
}

/// The system's file dialog for a recording to replay; `None` when the user cancels.
#[tauri::command(rename_all = "snake_case")]
pub async fn pick_audio_file(app: AppHandle) -> CmdResult<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    blocking(move || {
        let picked = app
            .dialog()
            .file()
            .set_title("Replay a recording")
            .add_filter("Audio", &["wav", "mp3", "m4a", "aac", "flac", "ogg"])
            .blocking_pick_file();
        picked.map(|f| f.into_path().map(|p| p.display().to_string()).map_err(err)).transpose()
    })
    .await
}

// ------------------------------------------------------------------ models

#[tauri::command(rename_all = "snake_case")]
pub async fn models_status() -> CmdResult<Vec<ModelStatus>> {
    blocking(|| models().list().map_err(err)).await
}

/// `InstallProgress` as the contract's `ModelProgress`: `{name, stage, ...}`.
fn progress_payload(name: &str, p: &InstallProgress) -> Value {
    let mut v = match p {
        InstallProgress::Trying { source } => json!({"stage": "trying", "source": source}),
        InstallProgress::SourceFailed { source, reason } => {
            json!({"stage": "source_failed", "source": source, "reason": reason})
        }
        InstallProgress::Downloading { done, total } => json!({"stage": "downloading", "done": done, "total": total}),
        InstallProgress::Verifying => json!({"stage": "verifying"}),
        InstallProgress::Converting { step } => json!({"stage": "converting", "step": step}),
        InstallProgress::Done { path } => json!({"stage": "done", "path": path}),
    };
    v["name"] = json!(name);
    v
}

#[tauri::command(rename_all = "snake_case")]
pub async fn install_model(app: AppHandle, name: String) -> CmdResult<ModelStatus> {
    blocking(move || {
        let manager = models();
        let mut last_download = std::time::Instant::now() - Duration::from_secs(1);
        manager
            .install(&name, &mut |p| {
                // Downloads report every chunk; a few updates a second are enough for a bar.
                if let InstallProgress::Downloading { done, total } = &p {
                    if Some(*done) != *total && last_download.elapsed() < Duration::from_millis(150) {
                        return;
                    }
                    last_download = std::time::Instant::now();
                }
                let _ = app.emit(EV_MODEL_PROGRESS, progress_payload(&name, &p));
            })
            .map_err(err)?;
        manager
            .list()
            .map_err(err)?
            .into_iter()
            .find(|m| m.name == name)
            .ok_or_else(|| format!("{name} was installed but is not in the catalog"))
    })
    .await
}

// ------------------------------------------------------------------ library

/// The Library panel's matcher for the current settings, built when missing or stale.
fn search_matcher<'a>(state: &AppState, cache: &'a mut Option<SearchMatcher>) -> CmdResult<&'a mut dyn Matcher> {
    let settings = state.settings();
    let fresh = matches!(&*cache, Some(c) if c.kind == settings.matcher && c.threshold == settings.threshold);
    if !fresh {
        let built = setup::build_matcher(Some(settings.matcher), &state.paths.db, None, settings.threshold, &models())
            .map_err(err)?;
        *cache = Some(SearchMatcher {
            kind: settings.matcher,
            threshold: settings.threshold,
            matcher: built.matcher,
            library: built.library,
        });
    }
    Ok(cache.as_mut().map(|c| c.matcher.as_mut()).ok_or("no matcher")?)
}

/// Builds the matcher once at launch, off the UI thread: the first run on a machine
/// embeds the library and trains its classifier (tens of seconds), cached from then on,
/// so neither the first call nor the first library search waits for it.
pub fn warm_up_matcher(app: &AppHandle) {
    let app = app.clone();
    let spawned = std::thread::Builder::new().name("cuecard-warm-up".into()).spawn(move || {
        let started = std::time::Instant::now();
        let state = app.state::<AppState>();
        let mut cache = state.search.lock().unwrap_or_else(|p| p.into_inner());
        match search_matcher(&state, &mut cache) {
            Ok(_) => tracing::info!("matcher ready in {} ms", started.elapsed().as_millis()),
            // Not fatal here: the Models panel and a session start report it to the user.
            Err(e) => tracing::warn!("matcher warm-up: {e}"),
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("matcher warm-up thread: {e}");
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn library_search(app: AppHandle, text: String) -> CmdResult<Value> {
    blocking(move || {
        let state = app.state::<AppState>();
        let mut cache = state.search.lock().unwrap_or_else(|p| p.into_inner());
        let matcher = search_matcher(&state, &mut cache)?;
        let threshold = matcher.threshold();
        let ranked = matcher.rank_explained(&text, 5).map_err(err)?;
        let fires = ranked.first().filter(|c| c.fires(threshold)).map(|c| c.objection_id.clone());
        let candidates: Vec<Value> = ranked
            .iter()
            .map(|c| {
                let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
                v["why"] = json!(c.why());
                v
            })
            .collect();
        Ok(json!({"text": text, "matcher": matcher.name(), "threshold": threshold, "fires": fires, "candidates": candidates}))
    })
    .await
}

// ------------------------------------------------------------------ history

fn open_store(state: &AppState) -> CmdResult<Store> {
    Store::open(&state.paths.db).map_err(err)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn list_calls(app: AppHandle) -> CmdResult<Vec<CallRecord>> {
    blocking(move || open_store(&app.state::<AppState>())?.recent_calls(200).map_err(err)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_call(app: AppHandle, id: i64) -> CmdResult<Value> {
    blocking(move || {
        let (segments, cards) = open_store(&app.state::<AppState>())?.call_transcript(id).map_err(err)?;
        Ok(json!({"call": id, "segments": segments, "cards": cards}))
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn card_feedback(
    app: AppHandle,
    call_id: Option<i64>,
    objection_id: String,
    action: String,
    response_id: Option<String>,
) -> CmdResult<()> {
    if !matches!(action.as_str(), "shown" | "dismissed" | "used" | "helpful") {
        return Err(format!("unknown card feedback {action:?}"));
    }
    let Some(call_id) = call_id else {
        return Ok(()); // the session is not recorded
    };
    blocking(move || {
        let store = open_store(&app.state::<AppState>())?;
        let card = store
            .latest_card(call_id, &objection_id)
            .map_err(err)?
            .ok_or_else(|| format!("call #{call_id} has no card for {objection_id}"))?;
        store.add_feedback(card, &action).map_err(err)?;
        tracing::info!(call_id, card, %objection_id, %action, ?response_id, "card feedback");
        Ok(())
    })
    .await
}

// ------------------------------------------------------------------ settings

#[tauri::command(rename_all = "snake_case")]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

#[tauri::command(rename_all = "snake_case")]
pub async fn save_settings(app: AppHandle, settings: Settings) -> CmdResult<Settings> {
    settings.validate()?;
    let saved = blocking(move || {
        let state = app.state::<AppState>();
        let mut current = state.settings.lock().unwrap_or_else(|p| p.into_inner());
        write_json_atomic(&state.paths.settings, &settings)?;
        *current = settings.clone();
        drop(current);
        let _ = app.emit(EV_SETTINGS, &settings);
        Ok(settings)
    })
    .await?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cuecard_engine::audio::live::DeviceInfo;

    fn dev(id: &str, direction: &'static str, is_default: bool, loopback: Option<&str>, monitor: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: id.into(),
            direction,
            is_default,
            loopback_id: loopback.map(String::from),
            is_monitor: monitor,
        }
    }

    #[test]
    fn devices_split_into_mics_and_loopbacks() {
        let l = split_devices(vec![
            dev("pa:mic", "input", true, None, false),
            dev("pa:call.monitor", "input", false, None, true),
            dev("pa:call", "output", true, Some("pa:call.monitor"), false),
            dev("wasapi:speakers", "output", false, Some("wasapi:speakers"), false),
        ]);
        assert_eq!(l.mics.len(), 1);
        assert!(l.mics[0].is_default);
        let ids: Vec<_> = l.loopbacks.iter().map(|d| (d.id.as_str(), d.is_default)).collect();
        assert_eq!(ids, [("pa:call.monitor", true), ("wasapi:speakers", false)]);
    }

    #[test]
    fn progress_matches_the_contract() {
        let v = progress_payload("tiny.en", &InstallProgress::Downloading { done: 5, total: Some(10) });
        assert_eq!(v, json!({"name": "tiny.en", "stage": "downloading", "done": 5, "total": 10}));
        let v = progress_payload("x", &InstallProgress::Verifying);
        assert_eq!(v, json!({"name": "x", "stage": "verifying"}));
    }
}
