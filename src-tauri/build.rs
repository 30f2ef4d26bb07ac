//! Declares the app's own commands so Tauri checks them against the capabilities too (without an app
//! manifest, only plugin commands are checked).

// Keep in step with `commands::NAMES` and `capabilities/main.json`; a unit test compares the three.
const COMMANDS: &[&str] = &[
    "app_info",
    "queue_subscribe",
    "pick_paths",
    "queue_add_paths",
    "offline_add_torrents",
    "queue_pause",
    "queue_resume",
    "queue_cancel",
    "queue_retry",
    "queue_remove",
    "queue_move",
    "queue_pause_all",
    "queue_resume_all",
    "queue_retry_failed",
    "queue_clear_finished",
    "profiles_list",
    "profile_save",
    "profile_remove",
    "profile_activate",
    "profile_test",
    "sandbox_start",
    "device_sign_in_start",
    "device_sign_in_finish",
    "device_sign_in_cancel",
    "settings_get",
    "settings_set",
    "sendto_ready",
    "sendto_confirm",
    "sendto_dismiss",
    "sendto_target",
    "sendto_forget",
    "integration_status",
    "integration_install",
    "integration_uninstall",
];

fn main() {
    println!("cargo:rerun-if-changed=../icons");
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)))
        .expect("tauri build step");
}
