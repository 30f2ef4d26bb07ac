//! Requests are paced per endpoint for the whole run: against a cloud that refuses more than it allows per
//! second, a burst of uploads keeps to the limit instead of being answered "too frequent" and colliding again.

use pandrop_fakecloud::RateLimits;

use crate::common::{BIN, MIB, env};

#[tokio::test]
async fn a_burst_of_forty_creates_stays_within_the_cloud_limits() {
    let env = env().await;
    env.cloud.set_rate_limits(
        RateLimits::new()
            .with("123pan/create", 2)
            .and_then(|l| l.with("123pan/mkdir", 2))
            .and_then(|l| l.with("123pan/list", 3))
            .expect("limits"),
    );
    // 40 files in 8 folders, each over the single-step size so that each takes a `create`.
    for i in 0..40u8 {
        env.file(&format!("burst/d{}/f{i}.bin", i % 8), MIB + 1 + usize::from(i), i);
    }
    let out = tokio::process::Command::new(BIN)
        .args([
            "upload",
            "--endpoint",
            &env.cloud.pan123_url(),
            "--to",
            "/burst",
            "--jobs",
            "4",
            "--json",
        ])
        .args(["--token-cache", "none"])
        .arg(env.dir.path().join("burst"))
        .env("PANDROP_CLIENT_ID", "demo")
        .env("PANDROP_CLIENT_SECRET", "demo-secret")
        .output()
        .await
        .expect("run pandrop-cli");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stats = env.admin("stats").await;
    let requests = |route: &str| stats["routes"][route]["requests"].as_u64().unwrap_or(0);
    let refused = |route: &str| stats["throttled"][route].as_u64().unwrap_or(0);
    assert_eq!(requests("123pan/create") - refused("123pan/create"), 40, "{stats}");
    // At most one create in ten answered "too frequent"; the folders take one mkdir each.
    assert!(refused("123pan/create") <= 4, "{stats}");
    assert!(refused("123pan/mkdir") <= 1 && refused("123pan/list") <= 1, "{stats}");
    assert_eq!(env.admin("files").await.as_array().map(Vec::len), Some(40));
}
