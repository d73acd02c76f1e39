//! The redaction rule over arbitrary URIs: no part of the userinfo survives, and everything a
//! reader needs to find the server (scheme, host, port, path, query) does.

use proptest::prelude::*;

/// Characters a userinfo may hold without ending the authority, `@` and `:` included.
fn userinfo() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~%!$&'()*+,;=:@-]{1,24}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_part_of_the_userinfo_survives(
        scheme in "[a-z][a-z0-9+.-]{0,12}",
        user in userinfo(),
        password in prop::option::of(userinfo()),
        host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        tail in prop::option::of("[/?#][A-Za-z0-9/@:?#=&._-]{0,30}"),
    ) {
        let secret = match &password {
            Some(p) => format!("{user}:{p}"),
            None => user.clone(),
        };
        let tail = tail.unwrap_or_default();
        let text = format!("{scheme}://{secret}@{host}{tail}");
        let shown = redaction::uri(&text);
        prop_assert_eq!(&shown, &format!("{scheme}://***@{host}{tail}"));
        prop_assert!(redaction::has_userinfo(&text));
        prop_assert!(!redaction::has_userinfo(&shown.replace("***@", "")));
    }

    #[test]
    fn text_without_userinfo_is_unchanged(
        text in "[A-Za-z0-9:/?#@._-]{0,40}",
    ) {
        if !redaction::has_userinfo(&text) {
            prop_assert_eq!(redaction::uri(&text), text);
        } else {
            prop_assert!(redaction::uri(&text).contains("://***@"));
        }
    }
}

/// Inputs found by the `uri` fuzz target and earlier reviews, kept as they were found.
#[test]
fn found_cases() {
    // The userinfo runs to the LAST `@` of the authority.
    assert_eq!(
        redaction::uri("postgresql://u@db:54:p%40ss-word@db:5432/x"),
        "postgresql://***@db:5432/x"
    );
    assert_eq!(redaction::uri("s3://u:p@ss@b?x=@y"), "s3://***@b?x=@y");
    // A `?` or `#` ends the authority, as `/` does.
    assert_eq!(redaction::uri("https://h?q=a@b"), "https://h?q=a@b");
    assert_eq!(redaction::uri("https://h#a@b"), "https://h#a@b");
    assert_eq!(redaction::uri("/tmp/x@y"), "/tmp/x@y");
    assert_eq!(
        redaction::uri("git@github.com:org/repo.git"),
        "git@github.com:org/repo.git"
    );
}
