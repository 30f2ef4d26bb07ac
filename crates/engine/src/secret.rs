//! Secret values (client secrets, access tokens) wrapped so that `Debug` never prints them.
//!
//! Only code that puts a secret on the wire calls [`ExposeSecret::expose_secret`].

pub use secrecy::{ExposeSecret, SecretString};

/// Builds a [`SecretString`] from anything string-like.
pub fn secret(value: impl Into<String>) -> SecretString {
    SecretString::from(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::pan6::{Pan6Api, Pan6Config};
    use crate::provider::pan123::Pan123Config;

    const VALUE: &str = "sk-3f9a-REDACT-ME";

    #[test]
    fn debug_output_of_every_config_holding_a_secret_is_redacted() {
        let endpoint = url::Url::parse("https://open-api.example/").expect("url");
        let shown = [
            format!("{:?}", secret(VALUE)),
            format!("{:?}", Pan123Config::new(endpoint.clone(), "id", secret(VALUE))),
            format!("{:?}", Pan6Config::new(endpoint, Pan6Api::V2, secret(VALUE))),
        ];
        for text in shown {
            assert!(!text.contains(VALUE), "{text}");
            assert!(text.contains("REDACTED"), "{text}");
        }
    }
}
