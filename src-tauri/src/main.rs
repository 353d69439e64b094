//! Cuecard desktop app: a thin Tauri 2 shell over `cuecard-engine`.
//!
//! Two windows from tauri.conf.json: `main` (ui/index.html) and `overlay`
//! (ui/overlay.html, small and always on top). The commands the pages call live in
//! `commands.rs`; engine events are forwarded to both windows as they happen.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;
mod settings;
mod state;

use settings::{read_json, write_json_atomic, OverlayPosition, Paths};
use state::AppState;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tauri::{Emitter, Manager, PhysicalPosition, WindowEvent};

/// Global shortcuts (work while another app, the call, has focus) and what they do on
/// the overlay. The overlay's own keys (settings) work when it has focus.
const GLOBAL_SHORTCUTS: [(&str, &str); 4] = [
    ("CommandOrControl+Alt+N", "next"),
    ("CommandOrControl+Alt+D", "dismiss"),
    ("CommandOrControl+Alt+P", "pin"),
    ("CommandOrControl+Alt+H", "helpful"),
];

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "info,whisper_rs=warn,symphonia_core=off,symphonia_bundle_flac=off,pulseaudio=off",
        )
    });
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

fn global_shortcuts() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    use tauri_plugin_global_shortcut::{Builder, ShortcutState};
    let mut builder = Builder::new().with_handler(|app, shortcut, event| {
        if event.state() != ShortcutState::Pressed {
            return;
        }
        let found = GLOBAL_SHORTCUTS.iter().find(|(accel, _)| {
            accel.parse::<tauri_plugin_global_shortcut::Shortcut>().is_ok_and(|s| s.id() == shortcut.id())
        });
        if let Some((_, action)) = found {
            let _ = app.emit(commands::EV_OVERLAY_ACTION, serde_json::json!({ "action": action }));
        }
    });
    for (accel, _) in GLOBAL_SHORTCUTS {
        // A shortcut another program holds must not stop the app from starting.
        builder = match builder.with_shortcut(accel) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("global shortcut {accel}: {e}");
                return Builder::new().build();
            }
        };
    }
    builder.build()
}

/// Puts the overlay where the user left it, if that spot is still on a screen.
fn restore_overlay(window: &tauri::WebviewWindow, paths: &Paths) {
    let Some(pos) = read_json::<OverlayPosition>(&paths.overlay) else { return };
    let on_screen = window.available_monitors().unwrap_or_default().iter().any(|m| {
        let (p, s) = (m.position(), m.size());
        pos.x >= p.x && pos.y >= p.y && pos.x < p.x + s.width as i32 && pos.y < p.y + s.height as i32
    });
    if !on_screen {
        tracing::info!("overlay position {pos:?} is off screen now; using the default");
        return;
    }
    if let Err(e) = window.set_position(PhysicalPosition::new(pos.x, pos.y)) {
        tracing::warn!("restoring the overlay position: {e}");
    }
}

/// Saves the overlay's position after it stops moving (a drag sends many moves).
fn remember_overlay(window: &tauri::WebviewWindow, paths: &Paths) {
    let generation = Arc::new(AtomicU64::new(0));
    let path = paths.overlay.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::Moved(p) = event {
            let mine = generation.fetch_add(1, Ordering::SeqCst) + 1;
            let (generation, path, pos) = (generation.clone(), path.clone(), OverlayPosition { x: p.x, y: p.y });
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(400));
                if generation.load(Ordering::SeqCst) == mine {
                    if let Err(e) = write_json_atomic(&path, &pos) {
                        tracing::warn!("saving the overlay position: {e}");
                    }
                }
            });
        }
    });
}

fn main() {
    init_logging();
    let started = std::time::Instant::now();
    let paths = Paths::from_env();
    tauri::Builder::default()
        .plugin(global_shortcuts())
        // Rust-side only (the `pick_audio_file` command): the pages get no dialog API.
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::load(paths.clone()))
        .setup(move |app| {
            if let Some(overlay) = app.get_webview_window("overlay") {
                restore_overlay(&overlay, &paths);
                remember_overlay(&overlay, &paths);
            }
            // The overlay has no close button: closing the main window quits the app
            // (a running session is stopped first, so its call is saved).
            if let Some(main) = app.get_webview_window("main") {
                let handle = app.handle().clone();
                main.on_window_event(move |event| {
                    if let WindowEvent::CloseRequested { api, .. } = event {
                        api.prevent_close();
                        let _ = commands::stop_session(handle.state());
                        let handle = handle.clone();
                        std::thread::spawn(move || {
                            // Queued speech is finished and the call saved; give up after 10 s.
                            for _ in 0..100 {
                                if !handle.state::<AppState>().session_state().running {
                                    break;
                                }
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            handle.exit(0);
                        });
                    }
                });
            }
            commands::warm_up_matcher(app.handle());
            tracing::info!(
                "cuecard-app ready in {} ms (data {}, models {})",
                started.elapsed().as_millis(),
                paths.db.display(),
                cuecard_engine::models::ModelManager::default_dir().display()
            );
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::start_replay,
            commands::start_live,
            commands::stop_session,
            commands::get_session,
            commands::list_devices,
            commands::pick_audio_file,
            commands::models_status,
            commands::install_model,
            commands::library_search,
            commands::list_calls,
            commands::get_call,
            commands::card_feedback,
            commands::get_settings,
            commands::save_settings,
        ])
        .run(tauri::generate_context!())
        .expect("error while running the Cuecard app");
}
