//! git over ssh against a real sshd on 127.0.0.1: pushes with the given key when the host key is
//! known, and refuses a spoofed or unknown host key (never trust on first use).

use gitops_writer::{ChangeSet, CommitInfo, Error, GitCli, GitOpsWriter, GixWriter, SshAuth};
use testkit::git::GitRemote;
use testkit::ssh::SshServer;

use crate::common;

fn info() -> CommitInfo {
    common::commit_info("over ssh")
}

fn transport(server: &SshServer, remote: &GitRemote, known_hosts: std::path::PathBuf) -> GitCli {
    GitCli::new(&server.url(&remote.bare_path()))
        .unwrap()
        .with_ssh(SshAuth {
            private_key: server.client_key(),
            known_hosts,
        })
}

#[test]
fn ssh_push_with_verified_host_key() {
    let server = SshServer::start();
    let remote = GitRemote::new();
    let mut writer = GixWriter::with_transport(
        transport(&server, &remote, server.known_hosts()),
        &remote.scratch_path().join("w"),
        "main",
    )
    .unwrap();
    let mut files = ChangeSet::new("deployments").unwrap();
    files
        .insert("m/deployment.yaml", "kind: Deployment\n")
        .unwrap();
    writer.apply(&files, &info()).unwrap();
    writer.push().unwrap();
    assert_eq!(remote.log().len(), 1);
    assert_eq!(remote.files("main"), vec!["deployments/m/deployment.yaml"]);
}

#[test]
fn spoofed_or_unknown_host_keys_are_refused() {
    let server = SshServer::start();
    let remote = GitRemote::new();
    for (name, known_hosts) in [
        ("spoofed", server.wrong_known_hosts()),
        ("unknown", server.empty_known_hosts()),
    ] {
        let err = GixWriter::with_transport(
            transport(&server, &remote, known_hosts),
            &remote.scratch_path().join(name),
            "main",
        )
        .expect_err("the host key must be verified");
        let message = err.to_string();
        assert!(matches!(err, Error::Fetch { .. }), "{name}: {message}");
        assert!(
            message.contains("Host key verification failed")
                || message.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
            "{name}: {message}"
        );
    }
    assert!(remote.log().is_empty());
}
