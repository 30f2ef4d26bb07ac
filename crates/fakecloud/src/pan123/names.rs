//! File and folder name rules of the 123pan upload pages.
//!
//! * fewer than 256 characters (counted as Unicode scalar values);
//! * none of `"` `\` `/` `:` `*` `?` `|` `>` `<`, except `/` as a path separator when `containDir` is set,
//!   in which case every path component follows the same rules;
//! * not empty and not only spaces.

/// Longest accepted name (and `containDir` path), in characters.
pub(crate) const MAX_NAME_CHARS: usize = 255;

const FORBIDDEN: [char; 9] = ['"', '\\', '/', ':', '*', '?', '|', '>', '<'];

/// Checks one file or folder name; the error is the message to answer with.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("文件名不能为空".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err("文件名要小于256个字符".to_owned());
    }
    if name.contains(FORBIDDEN) {
        return Err("文件名不能包含以下任何字符：\"\\/:*?|><".to_owned());
    }
    if name.chars().all(|c| c == ' ') {
        return Err("文件名不能全部是空格".to_owned());
    }
    Ok(())
}

/// Splits the `filename` of a create request into the folders to walk (or create) and the file name.
///
/// Without `containDir`, `filename` must be a plain name. With it, `filename` is a `/`-separated path
/// relative to the parent (a leading `/` is optional), each component a valid name.
pub(crate) fn split_upload_path(filename: &str, contain_dir: bool) -> Result<(Vec<String>, String), String> {
    if !contain_dir {
        check_name(filename)?;
        return Ok((Vec::new(), filename.to_owned()));
    }
    if filename.chars().count() > MAX_NAME_CHARS {
        return Err("文件名要小于256个字符".to_owned());
    }
    let relative = filename.strip_prefix('/').unwrap_or(filename);
    let mut parts: Vec<String> = Vec::new();
    for part in relative.split('/') {
        check_name(part)?;
        parts.push(part.to_owned());
    }
    // `split` yields at least one item, and empty items were rejected above.
    let leaf = parts.pop().unwrap_or_default();
    Ok((parts, leaf))
}

/// The `n`-th "keep both" variant of `name`: `a.txt` → `a(n).txt`, `archive` → `archive(n)`.
pub(crate) fn numbered(name: &str, n: u32) -> String {
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}({n}){}", &name[..dot], &name[dot..]),
        _ => format!("{name}({n})"),
    }
}

/// The list `category` of a file, guessed from its extension: 1 audio, 2 video, 3 image, 0 other.
pub(crate) fn category(name: &str) -> i64 {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "mp3" | "flac" | "wav" | "aac" | "ogg" | "m4a" | "ape" => 1,
        "mp4" | "mkv" | "avi" | "mov" | "wmv" | "flv" | "ts" | "webm" => 2,
        "jpg" | "jpeg" | "png" | "gif" | "bmp" | "webp" | "heic" => 3,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_rules() {
        assert!(check_name("测试文件.mp4").is_ok());
        assert!(check_name(" a ").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("   ").is_err());
        for bad in ["a\"b", "a\\b", "a/b", "a:b", "a*b", "a?b", "a|b", "a>b", "a<b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"字".repeat(255)).is_ok());
        assert!(check_name(&"字".repeat(256)).is_err());
    }

    #[test]
    fn paths() {
        let (dirs, leaf) = split_upload_path("/你好/123/测试文件.mp4", true).unwrap();
        assert_eq!(dirs, ["你好", "123"]);
        assert_eq!(leaf, "测试文件.mp4");
        let (dirs, leaf) = split_upload_path("a/b.txt", true).unwrap();
        assert_eq!((dirs, leaf.as_str()), (vec!["a".to_owned()], "b.txt"));
        assert!(split_upload_path("a/b.txt", false).is_err());
        assert!(split_upload_path("a//b.txt", true).is_err());
        assert!(split_upload_path("a/", true).is_err());
        assert!(split_upload_path("a/ /b", true).is_err());
        assert!(split_upload_path("a/b:c", true).is_err());
    }

    #[test]
    fn numbering() {
        assert_eq!(numbered("a.txt", 1), "a(1).txt");
        assert_eq!(numbered("a.tar.gz", 2), "a.tar(2).gz");
        assert_eq!(numbered("README", 3), "README(3)");
        assert_eq!(numbered(".env", 1), ".env(1)");
        assert_eq!(category("x.MP4"), 2);
    }
}
