//! macOS: Finder hands files to a running app as `RunEvent::Opened` once the bundle declares that it opens
//! any file or folder (`Info.plist`, `CFBundleDocumentTypes`, merged into the bundle by `tauri build`).
//! "Send to PanDrop" in Finder's Quick Actions menu is a small Automator workflow in `~/Library/Services`
//! that opens the selection with the app.

use plist::{Dictionary, Value};
use std::path::{Path, PathBuf};

use super::IntegrationError;
use super::quote::{printable, shell_word};

/// The Quick Action's bundle name in `~/Library/Services`.
pub const WORKFLOW: &str = "Send to PanDrop.workflow";
/// The menu text.
const LABEL: &str = "Send to PanDrop";

fn dict<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Dictionary(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Dictionary>())
}

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn xml(value: &Value) -> Result<Vec<u8>, IntegrationError> {
    let mut out = Vec::new();
    value
        .to_writer_xml(&mut out)
        .map_err(|e| IntegrationError::Malformed(format!("cannot write a property list: {e}")))?;
    Ok(out)
}

/// The `.app` bundle `exe` lives in (`…/PanDrop.app/Contents/MacOS/pandrop`), if any.
pub fn app_bundle(exe: &Path) -> Option<&Path> {
    exe.ancestors().find(|p| p.extension().is_some_and(|e| e == "app"))
}

/// The shell command the Quick Action runs with the selection as arguments: `open -a` delivers the files
/// to the running app as `RunEvent::Opened` (or starts it with them); outside a bundle, the program itself.
pub fn quick_action_command(exe: &str) -> Result<String, IntegrationError> {
    let exe = printable(exe)?;
    Ok(match app_bundle(Path::new(exe)) {
        Some(bundle) => format!("open -a {} \"$@\"", shell_word(&bundle.display().to_string())?),
        None => format!("{} send \"$@\"", shell_word(exe)?),
    })
}

/// `Contents/Info.plist` of the Quick Action: a service on files and folders, shown in Finder.
pub fn quick_action_info() -> Result<Vec<u8>, IntegrationError> {
    xml(&dict([(
        "NSServices",
        Value::Array(vec![dict([
            ("NSMenuItem", dict([("default", string(LABEL))])),
            ("NSMessage", string("runWorkflowAsService")),
            ("NSRequiredContext", dict([("NSApplicationIdentifier", string("com.apple.finder"))])),
            ("NSSendFileTypes", Value::Array(vec![string("public.item")])),
        ])]),
    )]))
}

/// `Contents/document.wflow`: one "Run Shell Script" action taking the selection as arguments.
pub fn quick_action_workflow(exe: &str) -> Result<Vec<u8>, IntegrationError> {
    let action = dict([
        (
            "action",
            dict([
                (
                    "AMAccepts",
                    dict([
                        ("Container", string("List")),
                        ("Optional", Value::Boolean(true)),
                        ("Types", Value::Array(vec![string("com.apple.cocoa.path")])),
                    ]),
                ),
                ("AMActionVersion", string("2.0.3")),
                ("AMApplication", Value::Array(vec![string("Automator")])),
                ("AMBundleIdentifier", string("com.apple.RunShellScript")),
                (
                    "AMProvides",
                    dict([
                        ("Container", string("List")),
                        ("Types", Value::Array(vec![string("com.apple.cocoa.string")])),
                    ]),
                ),
                ("ActionBundlePath", string("/System/Library/Automator/Run Shell Script.action")),
                ("ActionName", string("Run Shell Script")),
                (
                    "ActionParameters",
                    dict([
                        ("COMMAND_STRING", string(&quick_action_command(exe)?)),
                        ("CheckedForUserDefaultShell", Value::Boolean(true)),
                        ("inputMethod", Value::Integer(1.into())),
                        ("shell", string("/bin/sh")),
                        ("source", string("")),
                    ]),
                ),
                ("BundleIdentifier", string("com.apple.RunShellScript")),
                ("CFBundleVersion", string("2.0.3")),
                ("CanShowSelectedItemsWhenRun", Value::Boolean(false)),
                ("CanShowWhenRun", Value::Boolean(true)),
                ("Class Name", string("RunShellScriptAction")),
                ("InputUUID", string("6B9C8B39-0E38-4C56-8E0E-0A6E0A4E6D01")),
                ("OutputUUID", string("6B9C8B39-0E38-4C56-8E0E-0A6E0A4E6D02")),
                ("UUID", string("6B9C8B39-0E38-4C56-8E0E-0A6E0A4E6D03")),
            ]),
        ),
        ("isViewVisible", Value::Integer(1.into())),
    ]);
    xml(&dict([
        ("AMApplicationBuild", string("523")),
        ("AMApplicationVersion", string("2.10")),
        ("AMDocumentVersion", string("2")),
        ("actions", Value::Array(vec![action])),
        (
            "workflowMetaData",
            dict([
                ("serviceApplicationBundleID", string("com.apple.finder")),
                ("serviceInputTypeIdentifier", string("com.apple.Automator.fileSystemObject")),
                ("serviceOutputTypeIdentifier", string("com.apple.Automator.nothing")),
                ("workflowTypeIdentifier", string("com.apple.Automator.servicesMenu")),
            ]),
        ),
    ]))
}

/// The user's folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Homes {
    /// `~/Library/Services`.
    pub services: PathBuf,
}

impl Homes {
    /// From `$HOME`.
    pub fn from_env() -> Result<Self, IntegrationError> {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).ok_or(IntegrationError::NoHome)?;
        Ok(Self {
            services: PathBuf::from(home).join("Library/Services"),
        })
    }

    fn workflow(&self) -> PathBuf {
        self.services.join(WORKFLOW)
    }
}

/// Writes the Quick Action; answers what was written.
pub fn install(homes: &Homes, exe: &str) -> Result<Vec<String>, IntegrationError> {
    let contents = homes.workflow().join("Contents");
    std::fs::create_dir_all(&contents).map_err(|e| IntegrationError::io(&contents, e))?;
    for (name, bytes) in [
        ("Info.plist", quick_action_info()?),
        ("document.wflow", quick_action_workflow(exe)?),
    ] {
        let path = contents.join(name);
        std::fs::write(&path, bytes).map_err(|e| IntegrationError::io(&path, e))?;
    }
    Ok(vec![homes.workflow().display().to_string()])
}

/// Removes the Quick Action; answers what was removed.
pub fn uninstall(homes: &Homes) -> Result<Vec<String>, IntegrationError> {
    let workflow = homes.workflow();
    match std::fs::remove_dir_all(&workflow) {
        Ok(()) => Ok(vec![workflow.display().to_string()]),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(IntegrationError::io(&workflow, e)),
    }
}

/// The Quick Action, if present.
pub fn installed(homes: &Homes) -> Vec<String> {
    let workflow = homes.workflow();
    if workflow.join("Contents/document.wflow").is_file() {
        vec![workflow.display().to_string()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        Value::from_reader_xml(bytes).expect("a well-formed property list")
    }

    #[test]
    fn the_quick_action_opens_the_selection_with_the_app() {
        let exe = "/Applications/PanDrop.app/Contents/MacOS/pandrop";
        assert_eq!(quick_action_command(exe).unwrap(), "open -a '/Applications/PanDrop.app' \"$@\"");
        assert_eq!(quick_action_command("/opt/pandrop").unwrap(), "'/opt/pandrop' send \"$@\"");
        let flow = parse(&quick_action_workflow(exe).unwrap());
        let action = &flow.as_dictionary().unwrap()["actions"].as_array().unwrap()[0];
        let params = action.as_dictionary().unwrap()["action"].as_dictionary().unwrap()["ActionParameters"]
            .as_dictionary()
            .unwrap();
        assert_eq!(
            params["COMMAND_STRING"].as_string(),
            Some("open -a '/Applications/PanDrop.app' \"$@\"")
        );
        assert_eq!(
            params["inputMethod"].as_signed_integer(),
            Some(1),
            "the selection arrives as arguments"
        );
        let meta = flow.as_dictionary().unwrap()["workflowMetaData"].as_dictionary().unwrap();
        assert_eq!(meta["workflowTypeIdentifier"].as_string(), Some("com.apple.Automator.servicesMenu"));
    }

    #[test]
    fn the_service_takes_files_and_folders_in_finder() {
        let info = parse(&quick_action_info().unwrap());
        let service = info.as_dictionary().unwrap()["NSServices"].as_array().unwrap()[0]
            .as_dictionary()
            .unwrap()
            .clone();
        assert_eq!(service["NSSendFileTypes"].as_array().unwrap()[0].as_string(), Some("public.item"));
        assert_eq!(service["NSMenuItem"].as_dictionary().unwrap()["default"].as_string(), Some(LABEL));
    }

    /// The bundle's own `Info.plist` makes Finder offer PanDrop for any file or folder (Open With, drops on
    /// the Dock icon), which reach the app as `RunEvent::Opened`.
    #[test]
    fn the_bundle_declares_it_opens_anything() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Info.plist");
        let info = Value::from_file(&path).expect("src-tauri/Info.plist");
        let types = info.as_dictionary().unwrap()["CFBundleDocumentTypes"].as_array().unwrap();
        let items: Vec<&str> = types
            .iter()
            .flat_map(|t| t.as_dictionary().unwrap()["LSItemContentTypes"].as_array().unwrap())
            .filter_map(Value::as_string)
            .collect();
        assert!(items.contains(&"public.item") && items.contains(&"public.folder"), "{items:?}");
        assert!(
            types
                .iter()
                .all(|t| t.as_dictionary().unwrap()["LSHandlerRank"].as_string() == Some("Alternate"))
        );
    }

    #[test]
    fn install_and_uninstall_the_workflow() {
        let dir = tempfile::tempdir().unwrap();
        let homes = Homes {
            services: dir.path().to_path_buf(),
        };
        assert_eq!(
            install(&homes, "/Applications/PanDrop.app/Contents/MacOS/pandrop").unwrap().len(),
            1
        );
        assert_eq!(installed(&homes).len(), 1);
        assert_eq!(uninstall(&homes).unwrap().len(), 1);
        assert!(installed(&homes).is_empty());
    }
}
