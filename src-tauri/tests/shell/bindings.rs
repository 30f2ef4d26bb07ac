//! The generated TypeScript bindings (and the UI tests' copy of the task lifecycle) are up to date, and the
//! three command lists agree.

use std::collections::BTreeSet;
use std::path::Path;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn bindings_are_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("bindings.ts");
    pandrop_lib::export_bindings(&fresh).expect("export bindings");
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    up_to_date(pandrop_lib::BINDINGS_PATH, &fresh);
}

/// The UI's tests make rows up without a shell: they take the actions each state allows from this file,
/// written from the engine's lifecycle, so they cannot drift from it.
#[test]
fn the_ui_tests_lifecycle_is_up_to_date() {
    use pandrop_engine::store::{TaskState, allowed_actions};
    let table: serde_json::Map<String, serde_json::Value> = TaskState::ALL
        .into_iter()
        .map(|state| (state.as_str().to_owned(), serde_json::json!(allowed_actions(state))))
        .collect();
    let fresh = serde_json::to_string_pretty(&table).unwrap() + "\n";
    up_to_date("../ui/src/test/lifecycle.json", &fresh);
}

/// The clouds the UI's tests offer, as the shell sends them in `app_info`, written from the registry.
#[test]
fn the_ui_tests_providers_are_up_to_date() {
    let fresh = serde_json::to_string_pretty(&pandrop_lib::dto::ProviderDto::all()).unwrap() + "\n";
    up_to_date("../ui/src/test/providers.json", &fresh);
}

/// Compares a generated file with the committed one; `PANDROP_UPDATE_BINDINGS=1` writes it instead.
fn up_to_date(relative: &str, fresh: &str) {
    let committed_path = Path::new(MANIFEST).join(relative);
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    if fresh != committed {
        if std::env::var_os("PANDROP_UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed_path, fresh).unwrap();
            return;
        }
        panic!(
            "{} is stale: regenerate it with `PANDROP_UPDATE_BINDINGS=1 cargo test -p pandrop --test shell bindings` \
             (or run the debug app once) and commit the result",
            committed_path.display()
        );
    }
}

/// The commands the invoke handler serves.
fn registered() -> BTreeSet<String> {
    let commands = pandrop_lib::commands::<tauri::test::MockRuntime>();
    let collected = (commands.1)(&mut specta::Types::default());
    collected.functions.iter().map(|f| f.name().to_string()).collect()
}

/// `COMMANDS` of build.rs.
fn declared() -> BTreeSet<String> {
    let build = std::fs::read_to_string(Path::new(MANIFEST).join("build.rs")).unwrap();
    let list = build
        .split("const COMMANDS: &[&str] = &[")
        .nth(1)
        .unwrap()
        .split("];")
        .next()
        .unwrap();
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `allow-*` grants of the main capability, as command names.
fn granted() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(MANIFEST).join("capabilities/main.json")).unwrap();
    let capability: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        capability["windows"],
        serde_json::json!(["main"]),
        "one capability, for the main window only"
    );
    capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect()
}

#[test]
fn the_three_command_lists_match() {
    let registered = registered();
    assert_eq!(registered.len(), 34, "{registered:?}");
    assert_eq!(registered, declared(), "build.rs COMMANDS differs from the registered commands");
    assert_eq!(
        registered,
        granted(),
        "capabilities/main.json allow-* differs from the registered commands"
    );
}
