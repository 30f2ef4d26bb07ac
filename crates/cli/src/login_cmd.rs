//! `pandrop-cli login`: sign in and keep the account's secret in the OS keyring: 6pan's session token (user
//! and password), or HalalCloud's tokens (a code entered at the website).

use anyhow::Context;
use clap::Args;
use pandrop_engine::http;
use pandrop_engine::secret::secret;
use pandrop_engine::secrets::{KeyringStore, SecretStore};
use std::io::BufRead;
use url::Url;

use crate::CliError;
use crate::cloud::ProviderArg;

/// Arguments of `login`.
#[derive(Args)]
pub(crate) struct LoginArgs {
    /// Which cloud to sign in to (one whose secret comes from a sign-in: 6pan-v1, 6pan-v2, halalcloud).
    #[arg(value_parser = ProviderArg::parser())]
    provider: ProviderArg,
    /// API base URL [default: the real cloud].
    #[arg(long)]
    endpoint: Option<Url>,
    /// Phone number or user name [default: asked for].
    #[arg(long)]
    user: Option<String>,
    /// Read the password from the first line of standard input instead of asking on the terminal.
    #[arg(long)]
    password_stdin: bool,
}

/// Logs in and stores the session token.
pub(crate) async fn run(args: LoginArgs) -> Result<bool, CliError> {
    let factory = args.provider.factory();
    if factory.signs_in_by_device() {
        return by_code(args).await;
    }
    if !factory.signs_in() {
        let vars: Vec<&str> = factory.info().fields.iter().map(|f| f.env).collect();
        return Err(CliError::Usage(format!(
            "{} needs no login: export {} with your account's credentials",
            args.provider.name(),
            vars.join(" and ")
        )));
    }
    let endpoint = match args.endpoint {
        Some(url) => url,
        None => Url::parse(args.provider.default_endpoint()).map_err(|e| CliError::Other(e.into()))?,
    };
    let mut stdin = std::io::stdin().lock();
    let user = match args.user {
        Some(user) => user,
        None => {
            eprint!("Phone number or user name: ");
            read_line(&mut stdin)?
        }
    };
    let password = if args.password_stdin {
        read_line(&mut stdin)?
    } else {
        rpassword::prompt_password("Password: ").context("reading the password from the terminal")?
    };
    if user.is_empty() || password.is_empty() {
        return Err(CliError::Usage("both a user and a password are needed".into()));
    }
    let token = factory
        .sign_in(&http::client(), &endpoint, &user, &secret(password))
        .await
        .map_err(anyhow::Error::from)?;
    let key = args.provider.token_key(&endpoint);
    let store = KeyringStore;
    store.set(&key, &token).map_err(anyhow::Error::from)?;
    println!(
        "logged in to {endpoint}; the session token is stored in {}, entry \"{}\"",
        store.describe(),
        key.account()
    );
    Ok(true)
}

/// The sign-in by a code the user enters at the cloud's website: prints the code and the address, waits.
async fn by_code(args: LoginArgs) -> Result<bool, CliError> {
    let factory = args.provider.factory();
    let endpoint = match args.endpoint {
        Some(url) => url,
        None => Url::parse(args.provider.default_endpoint()).map_err(|e| CliError::Other(e.into()))?,
    };
    let http = http::client();
    let sign_in = factory.device_sign_in(&http, &endpoint).await.map_err(anyhow::Error::from)?;
    // Standard output, so a script can read the code; the waiting is said on standard error.
    println!("open {} and enter the code {}", sign_in.verification_uri, sign_in.user_code);
    eprintln!(
        "waiting for the code to be entered (it is good for {} minutes; Ctrl-C stops)",
        sign_in.expires_in.as_secs().div_ceil(60)
    );
    let secret = tokio::select! {
        secret = factory.device_sign_in_wait(&http, &endpoint, &sign_in) => secret.map_err(anyhow::Error::from)?,
        _ = tokio::signal::ctrl_c() => return Err(CliError::Interrupted),
    };
    let key = args.provider.token_key(&endpoint);
    let store = KeyringStore;
    store.set(&key, &secret).map_err(anyhow::Error::from)?;
    println!(
        "signed in to {endpoint}; the sign-in is stored in {}, entry \"{}\"",
        store.describe(),
        key.account()
    );
    Ok(true)
}

fn read_line(input: &mut impl BufRead) -> Result<String, CliError> {
    let mut line = String::new();
    input.read_line(&mut line).context("reading standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
