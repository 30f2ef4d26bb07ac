//! The system's language, for the UI's first start ("system" language).

/// A BCP 47 tag such as `zh-CN` or `en-US`, from the POSIX locale variables; `en` when none is set.
pub(crate) fn system_locale() -> String {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|v| to_tag(&v))
        .find(|tag| !tag.is_empty() && tag != "C" && tag != "POSIX")
        .unwrap_or_else(|| "en".to_owned())
}

/// `zh_CN.UTF-8` → `zh-CN`.
fn to_tag(posix: &str) -> String {
    let base = posix.split(['.', '@']).next().unwrap_or(posix);
    base.replace('_', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn posix_locales_become_tags() {
        assert_eq!(super::to_tag("zh_CN.UTF-8"), "zh-CN");
        assert_eq!(super::to_tag("en_US"), "en-US");
        assert_eq!(super::to_tag("de_DE@euro"), "de-DE");
        assert_eq!(super::to_tag("C.UTF-8"), "C");
    }
}
