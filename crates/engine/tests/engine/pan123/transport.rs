//! Upload hosts named `http://…` are reached over HTTPS where the host offers it (the bearer token rides on
//! every slice), over plain HTTP only where it does not, and never downgraded past a certificate that fails.

use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use pandrop_engine::ErrorCode;
use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::provider::pan123::Pan123;
use pandrop_engine::transfer::Outcome;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types};

use super::support::{Cloud, cloud_with, md5_of, stored, target, upload};

const MIB: usize = 1024 * 1024;

/// A self-signed certificate for 127.0.0.1, as DER, with its key.
fn certificate() -> (Vec<u8>, Vec<u8>) {
    let key = PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("key");
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", "127.0.0.1").expect("cn");
    let name = name.build();
    let mut cert = X509::builder().expect("builder");
    cert.set_version(2).expect("version");
    cert.set_subject_name(&name).expect("subject");
    cert.set_issuer_name(&name).expect("issuer");
    cert.set_pubkey(&key).expect("pubkey");
    cert.set_not_before(&Asn1Time::days_from_now(0).expect("time")).expect("not before");
    cert.set_not_after(&Asn1Time::days_from_now(2).expect("time")).expect("not after");
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&cert.x509v3_context(None, None))
        .expect("san");
    cert.append_extension(san).expect("extension");
    cert.sign(&key, MessageDigest::sha256()).expect("sign");
    (cert.build().to_der().expect("der"), key.private_key_to_pkcs8().expect("pkcs8"))
}

/// A TLS front on a free loopback port that passes each connection on to the fake cloud in plain HTTP. It
/// speaks TLS only: a plain-HTTP request to it fails. Counts the TLS handshakes begun.
struct TlsFront {
    port: u16,
    handshakes: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_front(cloud: &Cloud, cert: &[u8], key: &[u8]) -> TlsFront {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![pki_types::CertificateDer::from(cert.to_vec())],
            pki_types::PrivateKeyDer::Pkcs8(key.to_vec().into()),
        )
        .expect("tls config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let backend = url::Url::parse(&cloud.running.base_url()).expect("url");
    let backend = format!("127.0.0.1:{}", backend.port().expect("port"));
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&handshakes);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, backend, counted) = (acceptor.clone(), backend.clone(), Arc::clone(&counted));
            // Each connection ends with its socket; the front's task owns the listener.
            drop(tokio::spawn(async move {
                counted.fetch_add(1, Ordering::SeqCst);
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            }));
        }
    });
    TlsFront { port, handshakes, task }
}

/// Makes `create` name the TLS front, in its `http://` form, as the upload server.
async fn announce(cloud: &Cloud, front: &TlsFront) {
    let server = format!("http://127.0.0.1:{}/123pan", front.port);
    cloud
        .faults(json!([{"route": "123pan/create", "times": 100, "action": {"kind": "rewrite", "merge": {"data": {"servers": [server]}}}}]))
        .await;
}

#[tokio::test]
async fn an_http_upload_host_that_offers_https_gets_the_slices_over_https() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let (cert, key) = certificate();
    let front = tls_front(&cloud, &cert, &key).await;
    announce(&cloud, &front).await;
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&cert).expect("cert"))
        .build()
        .expect("client");
    let provider = Pan123::new(trusting, cloud.config()).expect("provider");
    let path = cloud.file("secure.bin", 3 * MIB, 71);
    let report = upload(&provider, &path, &target("/tls", "secure.bin"), DuplicatePolicy::Fail)
        .await
        .expect("upload over https");
    assert_eq!(report.outcome, Outcome::Uploaded);
    assert_eq!(stored(&cloud, "/tls/secure.bin").await.expect("stored")["md5"], md5_of(&path));
    // The front speaks nothing but TLS, so every slice went through it encrypted.
    assert_eq!(cloud.requests("123pan/slice").await, 3);
    assert!(front.handshakes.load(Ordering::SeqCst) >= 2, "the probe and the slices");
}

#[tokio::test]
async fn a_certificate_that_does_not_verify_stops_the_upload_with_nothing_sent() {
    let cloud = cloud_with(|c| c.pan123.slice_size = MIB as u64).await;
    let (cert, key) = certificate();
    let front = tls_front(&cloud, &cert, &key).await;
    announce(&cloud, &front).await;
    // The shared client trusts the public roots only.
    let path = cloud.file("mitm.bin", 2 * MIB, 72);
    let err = upload(&cloud.provider(), &path, &target("/tls", "mitm.bin"), DuplicatePolicy::Fail)
        .await
        .expect_err("no downgrade");
    assert_eq!(err.code(), ErrorCode::Protocol, "{err}");
    assert!(err.to_string().contains("certificate that does not verify"), "{err}");
    assert_eq!(cloud.requests("123pan/slice").await, 0, "no slice went anywhere");
    assert_eq!(front.handshakes.load(Ordering::SeqCst), 1, "only the probe, without credentials");
}
