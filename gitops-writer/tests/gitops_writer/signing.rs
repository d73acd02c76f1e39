//! Signed commits checked by git itself: `git verify-commit` accepts every commit the writer
//! makes (first attempt and re-made after a rejected push), `git fsck --strict` is clean, and a
//! commit changed after signing fails verification.

use gitops_writer::{CommitSigner, Error, GitOpsWriter, GixWriter, SignFormat};
use testkit::git::GitRemote;
use testkit::signing::{KeyKind, SigningKey, tamper_with_commit};

use crate::common::{change_set, commit_info};

fn signed_writer(remote: &GitRemote, key: &SigningKey, name: &str) -> GixWriter {
    let format: SignFormat = key.format().parse().unwrap();
    let signer = CommitSigner::new(format, &key.key_file()).unwrap();
    GixWriter::open(&remote.url(), &remote.scratch_path().join(name), "main")
        .unwrap()
        .with_signer(signer)
}

fn every_commit_verifies(kind: KeyKind) {
    let key = SigningKey::new(kind);
    let remote = GitRemote::new();
    let mut writer = signed_writer(&remote, &key, "w");
    writer
        .apply(
            &change_set("deployments", &[("a.yaml", "a: 1\n")]),
            &commit_info("first"),
        )
        .unwrap();
    writer.push().unwrap();

    // A human commit lands first: the writer's commit is rejected, re-made on the new head and
    // signed again.
    writer
        .apply(
            &change_set("deployments", &[("a.yaml", "a: 2\n")]),
            &commit_info("second"),
        )
        .unwrap();
    remote.human_commit("README.md", "hello\n", "human");
    let report = writer.push().unwrap();
    assert_eq!(report.attempts, 2, "the push was rejected once");

    let log = remote.log();
    let ours: Vec<_> = log.iter().filter(|c| c.author == "mlflow-gitops").collect();
    assert_eq!(ours.len(), 2, "{log:?}");
    for commit in &ours {
        key.verify_commit(&remote.bare_path(), &commit.id)
            .unwrap_or_else(|e| panic!("{kind:?}: commit {} does not verify: {e}", commit.id));
    }
    remote.fsck();

    let forged = tamper_with_commit(&remote.bare_path(), &ours[0].id);
    assert!(
        key.verify_commit(&remote.bare_path(), &forged).is_err(),
        "{kind:?}: a commit changed after signing still verifies"
    );
    // Another key of the same kind does not vouch for our commits.
    let stranger = SigningKey::new(kind);
    assert!(
        stranger
            .verify_commit(&remote.bare_path(), &ours[0].id)
            .is_err(),
        "{kind:?}: verified against a key that did not sign"
    );
}

#[test]
fn ssh_signed_commits_verify() {
    every_commit_verifies(KeyKind::Ssh);
}

#[test]
fn openpgp_signed_commits_verify() {
    every_commit_verifies(KeyKind::OpenPgp);
}

#[test]
fn unusable_keys_are_refused_at_startup_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let garbage = dir.path().join("garbage");
    std::fs::write(&garbage, "not a key\n").unwrap();
    for format in [SignFormat::Ssh, SignFormat::OpenPgp] {
        for file in [&missing, &garbage] {
            let err = CommitSigner::new(format, file).expect_err("an unusable key");
            assert!(matches!(err, Error::Signing { .. }), "{err}");
            assert!(
                err.to_string().contains(&file.display().to_string()),
                "{format:?}: {err}"
            );
        }
    }
    // A passphrase no one can type.
    let locked = dir.path().join("locked");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "secret words", "-f"])
        .arg(&locked)
        .status()
        .unwrap();
    assert!(status.success());
    let err = CommitSigner::new(SignFormat::Ssh, &locked).expect_err("a locked key");
    assert!(!err.to_string().contains("secret words"), "{err}");
    assert!("x509".parse::<SignFormat>().is_err());
}
