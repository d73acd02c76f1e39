//! The git remote is a real bare repository: a pushed commit is seen by `git log`, and the
//! repository passes `git fsck`.

use testkit::git::GitRemote;

#[test]
fn pushed_commit_is_in_the_remote_log() {
    let remote = GitRemote::new();
    assert!(remote.log().is_empty(), "a new remote has no history");

    let first = remote.human_commit("README.md", "hello\n", "add readme");
    let second = remote.human_commit("apps/a.yaml", "a: 1\n", "add app a");

    let log = remote.log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].id, second);
    assert_eq!(log[0].parents, vec![first.clone()]);
    assert_eq!(log[0].subject, "add app a");
    assert_eq!(log[0].author, "Test Human");
    assert_eq!(log[1].id, first);
    assert_eq!(remote.files("main"), vec!["README.md", "apps/a.yaml"]);
    assert_eq!(
        remote.show("main", "apps/a.yaml").as_deref(),
        Some(&b"a: 1\n"[..])
    );
    assert_eq!(remote.show("main", "missing"), None);
    remote.fsck();
}
