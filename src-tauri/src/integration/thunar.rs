//! Thunar's custom actions live in one shared file, `$XDG_CONFIG_HOME/Thunar/uca.xml`, beside the user's own:
//! ours is added or removed by its unique id and everything else is left as it was.

use super::IntegrationError;
use super::quote::{shell_word, xml_text};

/// Marks our action among the user's.
pub(crate) const UNIQUE_ID: &str = "pandrop-send-to";

/// An empty action list, as Thunar writes it.
const EMPTY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<actions>\n</actions>\n";

/// Our `<action>` element for `exe`. `%F` is the selection's paths, which Thunar quotes itself.
pub(crate) fn action(exe: &str) -> Result<String, IntegrationError> {
    let command = format!("{} send %F", shell_word(exe)?);
    Ok(format!(
        "<action>\n\t<icon>pandrop</icon>\n\t<name>Send to PanDrop</name>\n\t<submenu></submenu>\n\t<unique-id>{UNIQUE_ID}</unique-id>\n\t<command>{}</command>\n\t<description>Upload the selection with PanDrop</description>\n\t<range>*</range>\n\t<patterns>*</patterns>\n\t<directories/>\n\t<audio-files/>\n\t<image-files/>\n\t<other-files/>\n\t<text-files/>\n\t<video-files/>\n</action>\n",
        xml_text(&command)
    ))
}

/// `existing` (or a new file) with our action in it, replacing an older copy of ours.
pub(crate) fn with_action(existing: Option<&str>, exe: &str) -> Result<String, IntegrationError> {
    let base = without_action(existing.unwrap_or(EMPTY));
    let Some(end) = base.rfind("</actions>") else {
        return Err(IntegrationError::Malformed("Thunar's uca.xml has no </actions>".into()));
    };
    Ok(format!("{}{}{}", &base[..end], action(exe)?, &base[end..]))
}

/// `existing` without our action; the user's actions and layout stay byte for byte.
pub(crate) fn without_action(existing: &str) -> String {
    let mut out = String::with_capacity(existing.len());
    let mut rest = existing;
    while let Some(start) = rest.find("<action>") {
        let Some(len) = rest[start..].find("</action>") else { break };
        let end = start + len + "</action>".len();
        let element = &rest[start..end];
        if element.contains(&format!("<unique-id>{UNIQUE_ID}</unique-id>")) {
            out.push_str(rest[..start].trim_end_matches([' ', '\t']));
            // The line break that followed the element goes with it.
            rest = rest[end..].strip_prefix('\n').unwrap_or(&rest[end..]);
        } else {
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Whether `existing` holds our action.
pub(crate) fn has_action(existing: &str) -> bool {
    existing.contains(&format!("<unique-id>{UNIQUE_ID}</unique-id>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<actions>\n<action>\n\t<icon>utilities-terminal</icon>\n\t<name>Open Terminal Here</name>\n\t<unique-id>1700000000000000-1</unique-id>\n\t<command>exo-open --working-directory %f --launch TerminalEmulator</command>\n\t<range></range>\n\t<patterns>*</patterns>\n\t<directories/>\n</action>\n</actions>\n";

    #[test]
    fn ours_goes_in_beside_the_users_and_comes_out_cleanly() {
        let added = with_action(Some(USERS), "/opt/Pan Drop/pandrop").unwrap();
        assert!(added.contains("Open Terminal Here") && has_action(&added));
        assert!(
            added.contains("<command>&apos;/opt/Pan Drop/pandrop&apos; send %F</command>"),
            "{added}"
        );
        // Installing twice keeps one copy.
        let again = with_action(Some(&added), "/opt/Pan Drop/pandrop").unwrap();
        assert_eq!(again.matches(UNIQUE_ID).count(), 1);
        assert_eq!(without_action(&again), USERS);
    }

    #[test]
    fn a_missing_file_starts_empty() {
        let fresh = with_action(None, "/usr/bin/pandrop").unwrap();
        assert!(fresh.starts_with("<?xml") && fresh.trim_end().ends_with("</actions>"));
        assert_eq!(without_action(&fresh), EMPTY);
        assert!(with_action(Some("<nothing/>"), "/usr/bin/pandrop").is_err());
    }
}
