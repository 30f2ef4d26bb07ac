//! Secret values (client secrets, access tokens) wrapped so that `Debug` never prints them.
//!
//! Only code that puts a secret on the wire calls [`ExposeSecret::expose_secret`].

pub use secrecy::{ExposeSecret, SecretString};

/// Builds a [`SecretString`] from anything string-like.
pub fn secret(value: impl Into<String>) -> SecretString {
    SecretString::from(value.into())
}
