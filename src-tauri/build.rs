//! Generates the context (config, embedded `ui/dist`) and one `allow-<command>`
//! permission per app command, so capabilities can grant each window only what it uses.

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&[
        "start_replay",
        "start_live",
        "stop_session",
        "get_session",
        "list_devices",
        "pick_audio_file",
        "models_status",
        "install_model",
        "library_search",
        "list_calls",
        "get_call",
        "card_feedback",
        "get_settings",
        "save_settings",
    ]);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)).expect("tauri build script");
}
