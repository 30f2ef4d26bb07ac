//! Quoting a program path for each kind of launcher file, so a path with spaces or quotes still runs.

use super::IntegrationError;

/// Characters that make the desktop-entry spec require quotes around an argument.
const DESKTOP_RESERVED: &[char] = &[
    ' ', '\t', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`',
];

/// Refuses what no launcher file can carry: line breaks and other control characters.
pub(crate) fn printable(text: &str) -> Result<&str, IntegrationError> {
    if text.chars().any(char::is_control) {
        return Err(IntegrationError::UnsafePath(text.to_owned()));
    }
    Ok(text)
}

/// One argument of an `Exec` key (desktop entries, KDE service menus, Nemo actions): quoted by the
/// desktop-entry rules when needed, `%` doubled, then escaped as a desktop-entry string value.
pub(crate) fn desktop_exec_arg(arg: &str) -> Result<String, IntegrationError> {
    let arg = printable(arg)?.replace('%', "%%");
    let quoted = if arg.contains(DESKTOP_RESERVED) {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q.push('"');
        q
    } else {
        arg
    };
    // The value is a desktop-entry string first: its own escape for a backslash applies on top.
    Ok(quoted.replace('\\', "\\\\"))
}

/// A POSIX shell word: single quotes, with each `'` closed, escaped and reopened.
pub(crate) fn shell_word(arg: &str) -> Result<String, IntegrationError> {
    Ok(format!("'{}'", printable(arg)?.replace('\'', r"'\''")))
}

/// Text for an XML element or attribute.
pub(crate) fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_exec_quotes_only_when_needed() {
        assert_eq!(desktop_exec_arg("/usr/bin/pandrop").unwrap(), "/usr/bin/pandrop");
        assert_eq!(desktop_exec_arg("/opt/Pan Drop/pandrop").unwrap(), "\"/opt/Pan Drop/pandrop\"");
        assert_eq!(desktop_exec_arg("/opt/100%/pandrop").unwrap(), "/opt/100%%/pandrop");
        // `a"b$c` quotes to "a\"b\$c"; the string escape then doubles each backslash.
        assert_eq!(desktop_exec_arg("/x/a\"b$c").unwrap(), r#""/x/a\\"b\\$c""#);
        assert_eq!(desktop_exec_arg(r"/x/back\slash").unwrap(), r#""/x/back\\\\slash""#);
        assert!(desktop_exec_arg("/x/line\nbreak").is_err());
    }

    #[test]
    fn shell_words_survive_quotes() {
        assert_eq!(shell_word("/usr/bin/pandrop").unwrap(), "'/usr/bin/pandrop'");
        assert_eq!(shell_word("/opt/it's/pandrop").unwrap(), r"'/opt/it'\''s/pandrop'");
    }

    #[test]
    fn xml_text_escapes_markup() {
        assert_eq!(xml_text(r#"'/a&b'<"c">"#), "&apos;/a&amp;b&apos;&lt;&quot;c&quot;&gt;");
    }
}
