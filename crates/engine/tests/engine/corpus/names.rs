//! Names: the 123pan rules (seed 004: fewer than 256 characters, none of `"\/:*?|><`, not only spaces), counted
//! in characters, not bytes; what the rules do not forbid (leading or trailing spaces and dots) is kept as is;
//! path steps (`.`, `..`) and `/` inside a name never reach the cloud.

use pandrop_engine::provider::DuplicatePolicy;

use super::support::{Cloud, assert_refused, bounded, cloud, pan123, stored, target, upload};

/// What a case expects.
enum Expect {
    /// Refused before any request, with a message holding this rule.
    Refused(&'static str),
    /// Uploaded and stored under exactly this remote path.
    Stored,
}

/// One name case: remote folder, remote name, whether the path travels with `containDir`, expectation.
struct Case {
    dir: String,
    name: String,
    contain_dir: bool,
    expect: Expect,
}

fn case(dir: &str, name: impl Into<String>, contain_dir: bool, expect: Expect) -> Case {
    Case {
        dir: dir.to_owned(),
        name: name.into(),
        contain_dir,
        expect,
    }
}

fn cases() -> Vec<Case> {
    use Expect::{Refused, Stored};
    let mut all = Vec::new();
    // Each forbidden character, in the name and (where a local file could carry it) in a folder.
    for c in ['"', '\\', '/', ':', '*', '?', '|', '>', '<'] {
        all.push(case("/names", format!("a{c}b.txt"), false, Refused("forbids")));
        all.push(case("/names", format!("a{c}b.txt"), true, Refused("forbids")));
    }
    all.push(case("/bad:dir", "f.txt", false, Refused("':'")));
    // Length counts characters: 255 CJK characters (765 bytes in UTF-8) pass, 256 do not; likewise ASCII.
    all.push(case("/len", "文".repeat(255), false, Stored));
    all.push(case("/len", "文".repeat(256), false, Refused("256 characters")));
    all.push(case("/len", "a".repeat(255), false, Stored));
    all.push(case("/len", "a".repeat(256), false, Refused("256 characters")));
    all.push(case(&format!("/{}", "夹".repeat(256)), "f.txt", false, Refused("256 characters")));
    // With containDir the whole path is the filename: 255 characters in all pass, 256 do not.
    all.push(case(&format!("/{}", "d".repeat(200)), "n".repeat(53), true, Stored));
    all.push(case(
        &format!("/{}", "d".repeat(200)),
        "n".repeat(54),
        true,
        Refused("the path has 256 characters"),
    ));
    // Empty and blank names.
    all.push(case("/blank", "", false, Refused("empty")));
    all.push(case("/blank", "   ", false, Refused("only of spaces")));
    // Leading and trailing spaces and dots: allowed by the rules, kept exactly (no trimming).
    all.push(case("/edges", "  lead.txt", false, Stored));
    all.push(case("/edges", "trail.txt  ", false, Stored));
    all.push(case("/edges", ".hidden", false, Stored));
    all.push(case("/edges", "trail.txt.", false, Stored));
    all.push(case("/edges", "...", false, Stored));
    // Path steps, with and without containDir.
    for contain_dir in [false, true] {
        all.push(case("/a/../b", "f.txt", contain_dir, Refused("step in a path")));
        all.push(case("/a/./b", "f.txt", contain_dir, Refused("step in a path")));
        all.push(case("/a", "..", contain_dir, Refused("step in a path")));
        all.push(case("/a", "../f.txt", contain_dir, Refused("forbids")));
    }
    all
}

#[tokio::test]
async fn every_name_case_is_refused_before_a_request_or_stored_exactly() {
    let cloud = cloud().await;
    bounded("name cases", async {
        for (i, case) in cases().into_iter().enumerate() {
            run(&cloud, i, case).await;
        }
    })
    .await;
}

async fn run(cloud: &Cloud, i: usize, case: Case) {
    let provider = pan123(cloud, |c| c.use_contain_dir = case.contain_dir);
    let file = cloud.file(&format!("name-{i}.bin"), 100 + i, i as u64 + 1);
    let to = target(&case.dir, &case.name);
    let before = cloud.total_requests().await;
    let result = upload(&provider, &file, &to, DuplicatePolicy::Fail).await;
    let label = format!("case {i}: {:?} in {:?} (containDir {})", case.name, case.dir, case.contain_dir);
    match case.expect {
        Expect::Refused(rule) => {
            let err = result.expect_err(&label);
            assert_refused(&err, &format!("name-{i}.bin"), rule);
            assert_eq!(cloud.total_requests().await, before, "{label}: a request was sent");
        }
        Expect::Stored => {
            let report = result.unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(report.remote.size, 100 + i as u64, "{label}");
            assert!(
                stored(cloud, &to.full_path()).await.is_some(),
                "{label}: not stored as {}",
                to.full_path()
            );
        }
    }
}
