//! `pandrop integrate` as a user runs it: the real binary, a temporary XDG_DATA_HOME and XDG_CONFIG_HOME.

use std::path::Path;
use std::process::Command;

fn integrate(data: &Path, config: &Path, action: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pandrop"))
        .args(["integrate", action])
        .env("XDG_DATA_HOME", data)
        .env("XDG_CONFIG_HOME", config)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run pandrop");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pandrop integrate {action}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

const FILES: [&str; 5] = [
    "applications/PanDrop.desktop",
    "icons/hicolor/128x128/apps/pandrop.png",
    "nautilus/scripts/Send to PanDrop",
    "nemo/actions/pandrop-send.nemo_action",
    "kio/servicemenus/pandrop-send.desktop",
];

#[cfg(target_os = "linux")]
#[test]
fn install_writes_every_entry_and_uninstall_takes_them_all_back() {
    let dir = tempfile::tempdir().unwrap();
    let (data, config) = (dir.path().join("data"), dir.path().join("config"));
    let printed = integrate(&data, &config, "--install");
    for rel in FILES {
        assert!(data.join(rel).is_file(), "{rel} missing after --install:\n{printed}");
    }
    let uca = std::fs::read_to_string(config.join("Thunar/uca.xml")).unwrap();
    assert!(uca.contains("<unique-id>pandrop-send-to</unique-id>"), "{uca}");

    let entry = std::fs::read_to_string(data.join(FILES[0])).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_pandrop")).unwrap();
    assert!(entry.contains(&format!("Exec={} %F\n", exe.display())), "{entry}");
    assert!(entry.contains("MimeType=application/octet-stream;inode/directory;"), "{entry}");
    let validate = Command::new("desktop-file-validate")
        .arg(data.join(FILES[0]))
        .output()
        .expect("desktop-file-validate (package desktop-file-utils; scripts/setup.sh installs it)");
    assert!(
        validate.status.success() && validate.stdout.is_empty(),
        "desktop-file-validate: {}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );
    // The Nautilus script forwards the selection intact: run it with the program swapped for one that prints
    // its arguments.
    let script = std::fs::read_to_string(data.join(FILES[2])).unwrap();
    let fake = dir.path().join("fake-pandrop");
    std::fs::write(&fake, "#!/bin/sh\nprintf '%s|' \"$@\"\n").unwrap();
    std::fs::set_permissions(&fake, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755)).unwrap();
    let quoted = |p: &Path| format!("'{}'", p.display());
    let swapped = dir.path().join("script");
    std::fs::write(&swapped, script.replace(&quoted(&exe), &quoted(&fake))).unwrap();
    let run = Command::new("sh")
        .arg(&swapped)
        .args(["a b.txt", "c"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "send|a b.txt|c|", "{script}");

    assert!(integrate(&data, &config, "--status").lines().count() >= 6);
    let removed = integrate(&data, &config, "--uninstall");
    for rel in FILES {
        assert!(!data.join(rel).exists(), "{rel} left after --uninstall:\n{removed}");
    }
    let uca = std::fs::read_to_string(config.join("Thunar/uca.xml")).unwrap();
    assert!(!uca.contains("pandrop"), "{uca}");
    assert_eq!(integrate(&data, &config, "--status").trim(), "nothing present");
}

#[test]
fn integrate_without_an_action_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_pandrop")).arg("integrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--install"), "{text}");
}
