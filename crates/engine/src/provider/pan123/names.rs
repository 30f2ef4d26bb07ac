//! 123pan's rules for names and sizes (seed 004, spec §5.4, §6.2), checked before any request.

/// Characters a 123pan name may not contain.
pub(super) const FORBIDDEN: [char; 9] = ['"', '\\', '/', ':', '*', '?', '|', '>', '<'];
/// A name must be shorter than 256 characters.
pub(super) const MAX_NAME_CHARS: usize = 255;
/// Largest file a developer account may upload (10 GB).
pub const MAX_FILE_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// Largest file the single-step upload takes (1 GB).
pub const MAX_SINGLE_STEP_SIZE: u64 = 1024 * 1024 * 1024;

/// Returns the rule a single name (file or folder) breaks, if any.
pub(super) fn name_rule(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Some(format!("the name has {chars} characters; 123pan allows at most {MAX_NAME_CHARS}"));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Some(format!("the name contains {c:?}; 123pan forbids any of \" \\ / : * ? | > <"));
    }
    if name.chars().all(|c| c == ' ') {
        return Some("the name consists only of spaces".into());
    }
    None
}

/// Returns the rule a file size breaks, if any.
pub(super) fn size_rule(size: u64) -> Option<String> {
    if size == 0 {
        // Clients that tried it report 0-byte files are refused by the open platform (spec §5.4, §9.7).
        return Some("the file is empty (0 bytes); 123pan does not store empty files".into());
    }
    if size > MAX_FILE_SIZE {
        return Some(format!(
            "the file is {size} bytes; 123pan takes at most 10 GB ({MAX_FILE_SIZE} bytes) per file"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_forbidden_character_is_refused() {
        for c in FORBIDDEN {
            let rule = name_rule(&format!("a{c}b.txt")).expect("refused");
            assert!(rule.contains(&format!("{c:?}")), "{rule}");
        }
        assert_eq!(name_rule("正常 文件.txt"), None);
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(name_rule(&"文".repeat(255)), None);
        assert!(name_rule(&"a".repeat(256)).is_some());
    }

    #[test]
    fn blank_and_empty_names_are_refused() {
        assert!(name_rule("   ").is_some());
        assert!(name_rule("").is_some());
        assert_eq!(name_rule(" a "), None);
    }

    #[test]
    fn sizes() {
        assert!(size_rule(0).is_some());
        assert_eq!(size_rule(1), None);
        assert_eq!(size_rule(MAX_FILE_SIZE), None);
        assert!(size_rule(MAX_FILE_SIZE + 1).is_some());
    }
}
