//! Windows: "Send to PanDrop" on the context menu of files and folders (per-user verbs under
//! `HKCU\Software\Classes`, no administrator needed) and in the Send To menu (a shortcut in the user's
//! SendTo folder). The values are generated here and applied with the system's own `reg.exe` and
//! PowerShell, so nothing platform-only is linked into other builds.

use std::path::PathBuf;

use super::IntegrationError;
use super::quote::printable;

/// The verb's key under each class.
const VERB: &str = "PanDrop";
/// The classes the verb is added to: every file, and folders.
const CLASSES: [&str; 2] = [r"HKCU\Software\Classes\*\shell", r"HKCU\Software\Classes\Directory\shell"];
/// The menu text.
const LABEL: &str = "Send to PanDrop";
/// The shortcut's file name in the SendTo folder.
pub const SHORTCUT: &str = "PanDrop.lnk";

/// One registry value to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValue {
    /// Full key path, `HKCU\…`.
    pub key: String,
    /// Value name; `None` is the key's default value.
    pub name: Option<&'static str>,
    /// `REG_SZ` data.
    pub data: String,
}

/// The verb keys, one per class (deleting one removes its `command` subkey too).
pub fn verb_keys() -> Vec<String> {
    CLASSES.iter().map(|class| format!(r"{class}\{VERB}")).collect()
}

/// Every value of the verbs for `exe`. Explorer starts one process per selected item (`%1`); the app
/// gathers such bursts into one batch. `MultiSelectModel=Player` keeps the verb for more than 15 items.
pub fn registry_values(exe: &str) -> Result<Vec<RegValue>, IntegrationError> {
    let exe = printable(exe)?;
    if exe.contains('"') {
        return Err(IntegrationError::UnsafePath(exe.to_owned()));
    }
    let mut values = Vec::new();
    for key in verb_keys() {
        let value = |key: &str, name, data: String| RegValue {
            key: key.to_owned(),
            name,
            data,
        };
        values.push(value(&key, Some("MUIVerb"), LABEL.to_owned()));
        values.push(value(&key, Some("Icon"), format!("\"{exe}\",0")));
        values.push(value(&key, Some("MultiSelectModel"), "Player".to_owned()));
        values.push(value(&format!(r"{key}\command"), None, format!("\"{exe}\" send \"%1\"")));
    }
    Ok(values)
}

/// `reg.exe` arguments that set one value.
pub fn reg_add_args(value: &RegValue) -> Vec<String> {
    let mut args = vec!["add".to_owned(), value.key.clone()];
    match value.name {
        Some(name) => args.extend(["/v".to_owned(), name.to_owned()]),
        None => args.push("/ve".to_owned()),
    }
    args.extend(["/t", "REG_SZ", "/d"].map(str::to_owned));
    args.push(value.data.clone());
    args.push("/f".to_owned());
    args
}

/// `reg.exe` arguments that delete a key and everything under it.
pub fn reg_delete_args(key: &str) -> Vec<String> {
    vec!["delete".to_owned(), key.to_owned(), "/f".to_owned()]
}

/// A PowerShell single-quoted string.
fn ps_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// PowerShell that writes the SendTo shortcut through the shell's own `WScript.Shell` (a `.lnk` is a binary
/// format best left to Windows). Send To passes every selected item to one process.
pub fn shortcut_script(lnk: &str, exe: &str) -> Result<String, IntegrationError> {
    let (lnk, exe) = (printable(lnk)?, printable(exe)?);
    Ok(format!(
        "$ErrorActionPreference = 'Stop'; $s = (New-Object -ComObject WScript.Shell).CreateShortcut({}); $s.TargetPath = {}; $s.Arguments = 'send'; $s.IconLocation = {}; $s.Description = {}; $s.Save()",
        ps_string(lnk),
        ps_string(exe),
        ps_string(&format!("{exe},0")),
        ps_string(LABEL)
    ))
}

/// The user's folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// `%APPDATA%\Microsoft\Windows\SendTo`.
    pub send_to: PathBuf,
}

impl Homes {
    /// From `%APPDATA%`.
    pub fn from_env() -> Result<Self, IntegrationError> {
        let appdata = std::env::var_os("APPDATA")
            .filter(|a| !a.is_empty())
            .ok_or(IntegrationError::NoHome)?;
        Ok(Self {
            send_to: PathBuf::from(appdata).join(r"Microsoft\Windows\SendTo"),
        })
    }

    fn shortcut(&self) -> PathBuf {
        self.send_to.join(SHORTCUT)
    }
}

fn run(program: &str, args: &[String]) -> Result<(), IntegrationError> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| IntegrationError::Tool(format!("{program}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(IntegrationError::Tool(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Sets the verbs and writes the shortcut; answers what was written.
pub fn install(homes: &Homes, exe: &str) -> Result<Vec<String>, IntegrationError> {
    for value in registry_values(exe)? {
        run("reg", &reg_add_args(&value))?;
    }
    let lnk = homes.shortcut();
    let script = shortcut_script(&lnk.display().to_string(), exe)?;
    run(
        "powershell",
        &["-NoProfile".into(), "-NonInteractive".into(), "-Command".into(), script],
    )?;
    let mut done = verb_keys();
    done.push(lnk.display().to_string());
    Ok(done)
}

/// Deletes the verbs and the shortcut; answers what was removed.
pub fn uninstall(homes: &Homes) -> Result<Vec<String>, IntegrationError> {
    let mut removed = Vec::new();
    for key in verb_keys() {
        if run("reg", &["query".into(), key.clone()]).is_ok() {
            run("reg", &reg_delete_args(&key))?;
            removed.push(key);
        }
    }
    let lnk = homes.shortcut();
    match std::fs::remove_file(&lnk) {
        Ok(()) => removed.push(lnk.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(IntegrationError::io(&lnk, e)),
    }
    Ok(removed)
}

/// The verbs and shortcut present now.
pub fn installed(homes: &Homes) -> Vec<String> {
    let mut present: Vec<String> = verb_keys()
        .into_iter()
        .filter(|key| run("reg", &["query".into(), key.clone()]).is_ok())
        .collect();
    if homes.shortcut().is_file() {
        present.push(homes.shortcut().display().to_string());
    }
    present
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXE: &str = r"C:\Program Files\PanDrop\pandrop.exe";

    #[test]
    fn verbs_cover_files_and_folders_and_pass_the_item() {
        let values = registry_values(EXE).unwrap();
        assert_eq!(values.len(), 8);
        let command = |class: &str| {
            values
                .iter()
                .find(|v| v.key == format!(r"HKCU\Software\Classes\{class}\shell\PanDrop\command") && v.name.is_none())
                .map(|v| v.data.clone())
        };
        let expected = format!("\"{EXE}\" send \"%1\"");
        assert_eq!(command("*").as_deref(), Some(expected.as_str()));
        assert_eq!(command("Directory").as_deref(), Some(expected.as_str()));
        assert!(values.iter().any(|v| v.name == Some("MUIVerb") && v.data == "Send to PanDrop"));
        assert!(registry_values("C:\\a\"b.exe").is_err());
    }

    #[test]
    fn reg_arguments_set_named_and_default_values() {
        let values = registry_values(EXE).unwrap();
        assert_eq!(
            reg_add_args(&values[0]),
            [
                r"add",
                r"HKCU\Software\Classes\*\shell\PanDrop",
                "/v",
                "MUIVerb",
                "/t",
                "REG_SZ",
                "/d",
                "Send to PanDrop",
                "/f"
            ]
        );
        let default = reg_add_args(&values[3]);
        assert_eq!(default[2], "/ve");
        assert_eq!(
            reg_delete_args(&verb_keys()[1]),
            ["delete", r"HKCU\Software\Classes\Directory\shell\PanDrop", "/f"]
        );
    }

    #[test]
    fn the_shortcut_script_quotes_for_powershell() {
        let script = shortcut_script(r"C:\Users\O'Neil\AppData\Roaming\Microsoft\Windows\SendTo\PanDrop.lnk", EXE).unwrap();
        assert!(script.contains(r"CreateShortcut('C:\Users\O''Neil\AppData"), "{script}");
        assert!(script.contains(r"$s.TargetPath = 'C:\Program Files\PanDrop\pandrop.exe'"));
        assert!(script.contains("$s.Arguments = 'send'") && script.ends_with("$s.Save()"));
    }
}
