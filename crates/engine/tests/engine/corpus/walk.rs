//! Folder walks: links that loop, links to themselves and names that are not UTF-8 end the walk with one
//! report each; the other files are planned.

use pandrop_engine::transfer::plan_paths;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::support::{bounded, cloud};

#[tokio::test]
async fn a_walk_through_link_loops_and_odd_names_ends_and_reports_each() {
    let cloud = cloud().await;
    let root = cloud.dir.path().join("tree");
    std::fs::create_dir_all(root.join("a/b")).expect("mkdir");
    std::fs::write(root.join("top.txt"), b"top").expect("write");
    std::fs::write(root.join("a/b/deep.txt"), b"deep").expect("write");
    // A loop up the tree, a loop to the root by absolute path, a link to itself, a dangling link.
    std::os::unix::fs::symlink("..", root.join("a/b/up")).expect("link");
    std::os::unix::fs::symlink(&root, root.join("a/root")).expect("link");
    std::os::unix::fs::symlink("self", root.join("self")).expect("link");
    std::os::unix::fs::symlink("missing.txt", root.join("dangling")).expect("link");
    // Names that are not UTF-8: a file, and a folder whose contents go with it.
    std::fs::write(root.join(OsStr::from_bytes(b"latin1-\xe9.txt")), b"x").expect("write");
    let odd_dir = root.join(OsStr::from_bytes(b"dir-\xff"));
    std::fs::create_dir(&odd_dir).expect("mkdir");
    std::fs::write(odd_dir.join("inside.txt"), b"x").expect("write");

    let walk_root = root.clone();
    let planned = bounded("walk", tokio::task::spawn_blocking(move || plan_paths(&[walk_root], "/up")))
        .await
        .expect("walk");
    let mut ok: Vec<String> = planned
        .iter()
        .filter_map(|p| p.as_ref().ok())
        .map(|p| p.target.full_path())
        .collect();
    ok.sort();
    assert_eq!(ok, ["/up/tree/a/b/deep.txt", "/up/tree/top.txt"]);
    let errors: Vec<(String, String)> = planned
        .iter()
        .filter_map(|p| p.as_ref().err())
        .map(|(path, e)| (path.display().to_string(), e.to_string()))
        .collect();
    let said = |suffix: &str, rule: &str| {
        let hit = errors
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not reported: {errors:?}"));
        assert!(hit.1.contains(rule) && hit.1.contains(suffix), "{suffix}: {}", hit.1);
    };
    said("a/b/up", "link to a folder");
    said("a/root", "link to a folder");
    said("self", "symbolic links");
    said("dangling", "No such file");
    said("latin1-\u{fffd}.txt", "not valid UTF-8");
    said("dir-\u{fffd}", "not valid UTF-8");
    assert_eq!(errors.len(), 6, "one report each, the odd folder's contents with it: {errors:?}");
}
