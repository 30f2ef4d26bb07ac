//! The freedesktop side: a desktop entry (Open With, the menu), the icon, and "Send to PanDrop" in Nautilus,
//! Nemo, Dolphin and Thunar, all for the current user under `$XDG_DATA_HOME` (Thunar: `$XDG_CONFIG_HOME`).

use std::path::{Path, PathBuf};

use super::quote::{desktop_exec_arg, shell_word};
use super::{IntegrationError, thunar};

/// Desktop entry basename: the `.deb` names its entry after the product, and the same name makes the user's copy
/// override it instead of doubling it.
pub const DESKTOP_FILE: &str = "applications/PanDrop.desktop";
/// The icon the entries name (`Icon=pandrop`).
pub const ICON_FILE: &str = "icons/hicolor/128x128/apps/pandrop.png";
/// Nautilus lists executable files of this folder under Scripts.
pub const NAUTILUS_FILE: &str = "nautilus/scripts/Send to PanDrop";
/// Nemo actions.
pub const NEMO_FILE: &str = "nemo/actions/pandrop-send.nemo_action";
/// Dolphin service menus (KDE Frameworks 5.85+ and 6).
pub const DOLPHIN_FILE: &str = "kio/servicemenus/pandrop-send.desktop";
/// Thunar's custom actions, under the config home.
pub const THUNAR_FILE: &str = "Thunar/uca.xml";

/// Files and folders: every regular file type descends from `application/octet-stream`.
pub const MIME_TYPES: &str = "application/octet-stream;inode/directory;";

/// The app icon, written beside the entries so `Icon=pandrop` resolves without the package.
const ICON: &[u8] = include_bytes!("../../../icons/128x128.png");

/// A file the integration owns outright.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFile {
    /// Path below the data home.
    pub rel: &'static str,
    /// Contents.
    pub bytes: Vec<u8>,
    /// File managers run only executable scripts and (KDE 6) service menus.
    pub executable: bool,
}

/// The desktop entry for `exe`, as installed for the user (and, with `/usr/bin/pandrop`, by the package).
pub fn desktop_entry(exe: &str) -> Result<String, IntegrationError> {
    Ok(format!(
        "[Desktop Entry]\nType=Application\nVersion=1.0\nName=PanDrop\nGenericName=Cloud Uploader\nComment=Upload files and folders to 123pan and 6pan\nExec={} %F\nIcon=pandrop\nTerminal=false\nStartupNotify=true\nStartupWMClass=pandrop\nCategories=Network;FileTransfer;\nKeywords=upload;cloud;123pan;6pan;\nMimeType={MIME_TYPES}\n",
        desktop_exec_arg(exe)?
    ))
}

/// The Nautilus script: Nautilus runs it in the current folder with the selected names as arguments, and a
/// relative name is resolved against that folder by the launch it forwards to.
pub fn nautilus_script(exe: &str) -> Result<String, IntegrationError> {
    Ok(format!(
        "#!/bin/sh\n# Send to PanDrop: uploads the selected files and folders.\nexec {} send \"$@\"\n",
        shell_word(exe)?
    ))
}

/// The Nemo action: any selection of files or folders.
pub fn nemo_action(exe: &str) -> Result<String, IntegrationError> {
    Ok(format!(
        "[Nemo Action]\nName=Send to PanDrop\nComment=Upload the selection with PanDrop\nExec={} send %F\nIcon-Name=pandrop\nSelection=notnone\nExtensions=any;\nQuote=double\n",
        desktop_exec_arg(exe)?
    ))
}

/// The Dolphin service menu.
pub fn dolphin_menu(exe: &str) -> Result<String, IntegrationError> {
    Ok(format!(
        "[Desktop Entry]\nType=Service\nMimeType=all/all;\nActions=sendToPanDrop;\nX-KDE-ServiceTypes=KonqPopupMenu/Plugin\nX-KDE-Priority=TopLevel\n\n[Desktop Action sendToPanDrop]\nName=Send to PanDrop\nIcon=pandrop\nExec={} send %F\n",
        desktop_exec_arg(exe)?
    ))
}

/// Every file the integration owns, for `exe`.
pub fn owned_files(exe: &str) -> Result<Vec<OwnedFile>, IntegrationError> {
    let file = |rel, text: String, executable| OwnedFile {
        rel,
        bytes: text.into_bytes(),
        executable,
    };
    Ok(vec![
        file(DESKTOP_FILE, desktop_entry(exe)?, false),
        OwnedFile {
            rel: ICON_FILE,
            bytes: ICON.to_vec(),
            executable: false,
        },
        file(NAUTILUS_FILE, nautilus_script(exe)?, true),
        file(NEMO_FILE, nemo_action(exe)?, false),
        file(DOLPHIN_FILE, dolphin_menu(exe)?, true),
    ])
}

/// Where the files go for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// `$XDG_DATA_HOME`, else `~/.local/share`.
    pub data: PathBuf,
    /// `$XDG_CONFIG_HOME`, else `~/.config`.
    pub config: PathBuf,
}

impl Homes {
    /// From the environment, per the XDG base-directory spec (a relative value is ignored).
    pub fn from_env() -> Result<Self, IntegrationError> {
        let home = || std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
        let pick = |var: &str, fallback: &str| -> Result<PathBuf, IntegrationError> {
            match std::env::var_os(var).map(PathBuf::from) {
                Some(dir) if dir.is_absolute() => Ok(dir),
                _ => home().map(|h| h.join(fallback)).ok_or(IntegrationError::NoHome),
            }
        };
        Ok(Self {
            data: pick("XDG_DATA_HOME", ".local/share")?,
            config: pick("XDG_CONFIG_HOME", ".config")?,
        })
    }
}

/// Writes every file and merges the Thunar action; answers the paths written.
pub fn install(homes: &Homes, exe: &str) -> Result<Vec<String>, IntegrationError> {
    let mut written = Vec::new();
    for file in owned_files(exe)? {
        let path = homes.data.join(file.rel);
        write(&path, &file.bytes, file.executable)?;
        written.push(shown(&path));
    }
    let uca = homes.config.join(THUNAR_FILE);
    let existing = read_optional(&uca)?;
    write(&uca, thunar::with_action(existing.as_deref(), exe)?.as_bytes(), false)?;
    written.push(shown(&uca));
    refresh_desktop_database(&homes.data);
    Ok(written)
}

/// Removes what [`install`] wrote (the user's own Thunar actions stay); answers the paths removed.
pub fn uninstall(homes: &Homes) -> Result<Vec<String>, IntegrationError> {
    let mut removed = Vec::new();
    for rel in owned_rels() {
        let path = homes.data.join(rel);
        match std::fs::remove_file(&path) {
            Ok(()) => removed.push(shown(&path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(IntegrationError::io(&path, e)),
        }
    }
    let uca = homes.config.join(THUNAR_FILE);
    if let Some(existing) = read_optional(&uca)?
        && thunar::has_action(&existing)
    {
        write(&uca, thunar::without_action(&existing).as_bytes(), false)?;
        removed.push(shown(&uca));
    }
    refresh_desktop_database(&homes.data);
    Ok(removed)
}

/// The integration files present now.
pub fn installed(homes: &Homes) -> Vec<String> {
    let mut present: Vec<String> = owned_rels()
        .map(|rel| homes.data.join(rel))
        .filter(|p| p.is_file())
        .map(|p| shown(&p))
        .collect();
    let uca = homes.config.join(THUNAR_FILE);
    if read_optional(&uca).ok().flatten().is_some_and(|text| thunar::has_action(&text)) {
        present.push(shown(&uca));
    }
    present
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn owned_rels() -> impl Iterator<Item = &'static str> {
    [DESKTOP_FILE, ICON_FILE, NAUTILUS_FILE, NEMO_FILE, DOLPHIN_FILE].into_iter()
}

fn read_optional(path: &Path) -> Result<Option<String>, IntegrationError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IntegrationError::io(path, e)),
    }
}

/// Writes through a temporary file and a rename: a file manager never reads half an entry.
fn write(path: &Path, bytes: &[u8], executable: bool) -> Result<(), IntegrationError> {
    let dir = path
        .parent()
        .ok_or_else(|| IntegrationError::io(path, std::io::Error::other("no parent folder")))?;
    std::fs::create_dir_all(dir).map_err(|e| IntegrationError::io(dir, e))?;
    let tmp = dir.join(format!(".{}.pandrop-tmp", path.file_name().unwrap_or_default().to_string_lossy()));
    std::fs::write(&tmp, bytes).map_err(|e| IntegrationError::io(&tmp, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(|e| IntegrationError::io(&tmp, e))?;
    }
    #[cfg(not(unix))]
    let _ = executable;
    std::fs::rename(&tmp, path).map_err(|e| IntegrationError::io(path, e))
}

/// Lets "Open With" see the MimeType list now rather than at the next login. Optional: without the tool the
/// desktop reads the entries anyway, only later.
fn refresh_desktop_database(data: &Path) {
    let apps = data.join("applications");
    match std::process::Command::new("update-desktop-database").arg("-q").arg(&apps).status() {
        Ok(status) if status.success() => {}
        Ok(status) => tracing::info!(%status, "update-desktop-database failed"),
        Err(e) => tracing::debug!(error = %e, "update-desktop-database is not available"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_the_program_and_pass_every_selection() {
        let entry = desktop_entry("/opt/Pan Drop/pandrop").unwrap();
        assert!(entry.contains("Exec=\"/opt/Pan Drop/pandrop\" %F\n"), "{entry}");
        assert!(entry.contains("MimeType=application/octet-stream;inode/directory;\n"));
        assert!(
            nautilus_script("/usr/bin/pandrop")
                .unwrap()
                .contains("exec '/usr/bin/pandrop' send \"$@\"")
        );
        assert!(nemo_action("/usr/bin/pandrop").unwrap().contains("Exec=/usr/bin/pandrop send %F\n"));
        assert!(
            dolphin_menu("/usr/bin/pandrop")
                .unwrap()
                .contains("Exec=/usr/bin/pandrop send %F\n")
        );
        assert!(desktop_entry("/bad\npath").is_err());
    }

    /// The package ships the same entries for `pandrop` on the PATH; they must not drift from what we generate.
    #[test]
    fn packaged_files_match_the_generated_ones() {
        let packaged = |name: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("linux").join(name)).unwrap();
        assert_eq!(packaged("pandrop-send.nemo_action"), nemo_action("pandrop").unwrap());
        assert_eq!(packaged("pandrop-send.desktop"), dolphin_menu("pandrop").unwrap());
        let template = packaged("pandrop.desktop.hbs");
        assert_eq!(
            template,
            desktop_entry("pandrop").unwrap(),
            "the template takes no variables: it is the entry itself"
        );
    }

    #[test]
    fn install_then_uninstall_leaves_only_the_users_own_files() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes {
            data: dir.path().join("data"),
            config: dir.path().join("config"),
        };
        let mine = homes.config.join(THUNAR_FILE);
        std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
        let users = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<actions>\n<action><unique-id>1-1</unique-id></action>\n</actions>\n";
        std::fs::write(&mine, users).unwrap();

        let written = install(&homes, "/usr/bin/pandrop").unwrap();
        assert_eq!(written.len(), 6);
        assert_eq!(installed(&homes), written);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(homes.data.join(NAUTILUS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        assert_eq!(uninstall(&homes).unwrap().len(), 6);
        assert!(installed(&homes).is_empty());
        assert_eq!(std::fs::read_to_string(&mine).unwrap(), users);
        assert!(uninstall(&homes).unwrap().is_empty(), "a second uninstall has nothing to do");
    }
}
