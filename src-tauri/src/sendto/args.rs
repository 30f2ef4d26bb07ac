//! The app's command line: how file managers, the desktop entry and scripts start PanDrop.
//!
//! `pandrop [FILE]...` and `pandrop send [FILE]...` hand paths to the running app (or start it with them);
//! `pandrop integrate --install | --uninstall | --status` manages the file-manager entries without opening a
//! window. Launchers add arguments of their own (a WebDriver, a desktop session), so anything the parser does
//! not know is logged and skipped rather than refused: a send-to must never fail over a stray flag.

use clap::{Args as ClapArgs, Parser, Subcommand};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `pandrop`: the desktop app.
#[derive(Debug, Parser, PartialEq, Eq)]
#[command(name = "pandrop", version, about = "PanDrop: upload files and folders to 123pan and 6pan.")]
pub struct AppArgs {
    /// Start the built-in sandbox cloud and open on its demo account.
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// What to do; without one, the app opens (with FILEs, if any).
    #[command(subcommand)]
    pub command: Option<AppCommand>,
    /// Files and folders to upload.
    #[arg(value_name = "FILE")]
    pub paths: Vec<PathBuf>,
}

/// The app's subcommands.
#[derive(Debug, Subcommand, PartialEq, Eq)]
pub enum AppCommand {
    /// Send files and folders to the running app, starting it if needed.
    Send {
        /// Files and folders to upload.
        #[arg(value_name = "FILE")]
        paths: Vec<PathBuf>,
    },
    /// Add or remove "Send to PanDrop" in the file managers, for the current user.
    Integrate(IntegrateArgs),
}

/// `pandrop integrate`.
#[derive(Debug, ClapArgs, PartialEq, Eq)]
#[group(required = true, multiple = false)]
pub struct IntegrateArgs {
    /// Write the desktop entry and the file-manager actions.
    #[arg(long)]
    pub install: bool,
    /// Remove everything `--install` wrote.
    #[arg(long)]
    pub uninstall: bool,
    /// List what is installed.
    #[arg(long)]
    pub status: bool,
}

/// What a launch asks for, once parsed.
#[derive(Debug, PartialEq, Eq)]
pub enum Launch {
    /// Open the app (or reach the running one) with these paths, made absolute.
    App {
        /// Start on the sandbox.
        sandbox: bool,
        /// Absolute paths, in the order given.
        paths: Vec<PathBuf>,
    },
    /// Manage the file-manager entries and exit.
    Integrate(IntegrateArgs),
    /// `--help`, `--version` or a usage mistake: print this and exit with `code` (0, or 2 on stderr).
    Print {
        /// What to print.
        text: String,
        /// The exit code.
        code: u8,
    },
}

impl Launch {
    /// Parses `argv` (program name first); relative paths are taken from `cwd`.
    pub fn parse<I, T>(argv: I, cwd: &Path) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
        match AppArgs::try_parse_from(&argv) {
            Ok(AppArgs {
                command: Some(AppCommand::Integrate(a)),
                ..
            }) => Launch::Integrate(a),
            Ok(AppArgs {
                sandbox,
                command: Some(AppCommand::Send { paths }),
                ..
            }) => Launch::App {
                sandbox,
                paths: absolute(paths, cwd),
            },
            Ok(AppArgs { sandbox, paths, .. }) => Launch::App {
                sandbox,
                paths: absolute(paths, cwd),
            },
            Err(e)
                if matches!(
                    e.kind(),
                    clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                ) =>
            {
                Launch::Print {
                    text: e.to_string(),
                    code: 0,
                }
            }
            Err(e) if is_integrate(&argv) => Launch::Print {
                text: e.render().to_string(),
                code: 2,
            },
            Err(e) => {
                tracing::warn!(error = %e.kind(), "unknown arguments on the command line; using the rest");
                lenient(&argv, cwd)
            }
        }
    }
}

/// Whether the command line was `pandrop integrate …`: its mistakes are the user's, so they are shown.
fn is_integrate(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'))
        .is_some_and(|a| a == "integrate")
}

/// The launch without the arguments clap refused: flags it does not know are skipped, the rest are paths.
fn lenient(argv: &[OsString], cwd: &Path) -> Launch {
    let mut sandbox = false;
    let mut paths = Vec::new();
    let mut words = argv.iter().skip(1).peekable();
    if words.peek().is_some_and(|w| *w == "send") {
        words.next();
    }
    for word in words {
        let text = word.to_string_lossy();
        if text == "--sandbox" {
            sandbox = true;
        } else if !text.starts_with('-') {
            paths.push(PathBuf::from(word));
        }
    }
    Launch::App {
        sandbox,
        paths: absolute(paths, cwd),
    }
}

/// Joins relative paths onto the launcher's working folder: a second launch's folder is not the app's.
fn absolute(paths: Vec<PathBuf>, cwd: &Path) -> Vec<PathBuf> {
    paths.into_iter().map(|p| if p.is_absolute() { p } else { cwd.join(p) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Launch {
        let argv: Vec<&str> = std::iter::once("pandrop").chain(args.iter().copied()).collect();
        Launch::parse(argv, Path::new("/home/me"))
    }

    fn app(sandbox: bool, paths: &[&str]) -> Launch {
        Launch::App {
            sandbox,
            paths: paths.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn files_alone_or_after_send_become_absolute_paths() {
        assert_eq!(parse(&[]), app(false, &[]));
        assert_eq!(parse(&["/tmp/a.bin", "b.bin"]), app(false, &["/tmp/a.bin", "/home/me/b.bin"]));
        assert_eq!(parse(&["send", "a.bin", "/x/b"]), app(false, &["/home/me/a.bin", "/x/b"]));
        assert_eq!(parse(&["--sandbox"]), app(true, &[]));
        assert_eq!(parse(&["--sandbox", "send", "a"]), app(true, &["/home/me/a"]));
    }

    #[test]
    fn unknown_flags_are_skipped_not_fatal() {
        assert_eq!(parse(&["--automation", "a.bin"]), app(false, &["/home/me/a.bin"]));
        assert_eq!(parse(&["send", "-x", "a.bin", "--sandbox"]), app(true, &["/home/me/a.bin"]));
    }

    #[test]
    fn integrate_takes_exactly_one_action() {
        assert!(matches!(
            parse(&["integrate", "--install"]),
            Launch::Integrate(IntegrateArgs { install: true, .. })
        ));
        assert!(matches!(
            parse(&["integrate", "--uninstall"]),
            Launch::Integrate(IntegrateArgs { uninstall: true, .. })
        ));
        let Launch::Print { text, code: 2 } = parse(&["integrate"]) else {
            panic!("a bare integrate must explain itself")
        };
        assert!(text.contains("--install"), "{text}");
        assert!(matches!(
            parse(&["integrate", "--install", "--uninstall"]),
            Launch::Print { code: 2, .. }
        ));
    }

    #[test]
    fn help_and_version_print() {
        let Launch::Print { text: help, code: 0 } = parse(&["--help"]) else {
            panic!("--help prints")
        };
        assert!(help.contains("send") && help.contains("integrate"), "{help}");
        assert!(matches!(parse(&["--version"]), Launch::Print { text, code: 0 } if text.contains(env!("CARGO_PKG_VERSION"))));
    }
}
