//! git over https against a real TLS server (`git http-backend`): pushes with a token read from a
//! file, refuses a wrong token without printing it, and refuses an untrusted certificate.

use gitops_writer::{Error, GitCli, GitOpsWriter, GixWriter, TokenAuth, TokenSource};
use testkit::git::GitRemote;
use testkit::git_https::GitHttpsServer;

use crate::common;

const TOKEN: &str = "tok-9f2c1e7d4b";

fn transport(server: &GitHttpsServer, remote: &GitRemote, token: &str, trust: bool) -> GitCli {
    let token_file = remote.scratch_path().join(format!("token-{token}"));
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let cli = GitCli::new(&server.url("remote.git"))
        .unwrap()
        .with_token(TokenAuth {
            username: "bot".into(),
            source: TokenSource::File(token_file),
        });
    if trust {
        cli.with_ca_file(server.ca_file())
    } else {
        cli
    }
}

#[test]
fn https_push_with_token_from_a_file() {
    let remote = GitRemote::new();
    let server = GitHttpsServer::start(remote.scratch_path(), "bot", TOKEN);
    let mut writer = GixWriter::with_transport(
        transport(&server, &remote, TOKEN, true),
        &remote.scratch_path().join("w"),
        "main",
    )
    .unwrap();
    writer
        .apply(
            &common::change_set("deployments", &[("m/d.yaml", "x")]),
            &common::commit_info("over https"),
        )
        .unwrap();
    writer.push().unwrap();
    assert_eq!(remote.files("main"), vec!["deployments/m/d.yaml"]);
}

#[test]
fn wrong_token_and_untrusted_certificate_are_refused() {
    let remote = GitRemote::new();
    let server = GitHttpsServer::start(remote.scratch_path(), "bot", TOKEN);
    let wrong = GixWriter::with_transport(
        transport(&server, &remote, "tok-wrong-5a5a", true),
        &remote.scratch_path().join("a"),
        "main",
    )
    .expect_err("a wrong token must be refused")
    .to_string();
    assert!(!wrong.contains("tok-wrong-5a5a"), "{wrong}");
    assert!(wrong.contains("refused the credentials"), "{wrong}");

    let untrusted = GixWriter::with_transport(
        transport(&server, &remote, TOKEN, false),
        &remote.scratch_path().join("b"),
        "main",
    )
    .expect_err("a self-signed certificate must not be trusted by default");
    assert!(matches!(untrusted, Error::Fetch { .. }), "{untrusted}");
    assert!(untrusted.to_string().contains("certificate"), "{untrusted}");
    assert!(remote.log().is_empty());
}
