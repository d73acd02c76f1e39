//! Property tests for URI parsing and location resolution.

use proptest::prelude::*;
use registry_reader::BackendUri;
use registry_reader::resolve::{self, Location};

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .expect("utf-8")
        .into_owned()
}

proptest! {
    /// Any string from a registry row classifies without panicking, and whatever is accepted as a
    /// concrete URI has no control characters and no `..` segment.
    #[test]
    fn classify_is_total_and_safe(location in any::<String>()) {
        if let Ok(Location::Uri(uri)) = resolve::classify(&location) {
            prop_assert!(!uri.chars().any(char::is_control));
            prop_assert!(!uri.split('/').any(|s| s == ".."));
            prop_assert!(uri.len() <= 4 * resolve::MAX_LOCATION_LEN);
        }
    }

    /// `file_uri` is MLflow's `path_to_local_file_uri`: only unreserved ASCII stays, and decoding
    /// gives back the path exactly.
    #[test]
    fn file_uri_round_trips(path in "/[^\u{0}]{0,80}") {
        let uri = resolve::file_uri(&path);
        let rest = uri.strip_prefix("file://").expect("scheme");
        prop_assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-~/%".contains(&b)), "{uri}");
        prop_assert_eq!(decode(rest), path);
    }

    /// Every absolute path classifies to its `file://` URI, unless it has a `..` segment (between
    /// `/` or `\` separators: a Windows-style `..\` is refused too) or control characters.
    #[test]
    fn bare_paths_become_file_uris(segments in prop::collection::vec("[^/\u{0}-\u{1f}\u{7f}-\u{9f}]{1,12}", 1..6)) {
        let path = format!("/{}", segments.join("/"));
        let result = resolve::classify(&path);
        if segments.iter().any(|s| s.split('\\').any(|part| part == "..")) {
            prop_assert!(result.is_err());
        } else {
            prop_assert_eq!(result, Ok(Location::Uri(resolve::file_uri(&path))));
        }
    }

    /// `runs:/<id>/<path>` keeps the id and the path whatever the path holds.
    #[test]
    fn runs_uris_split_id_and_path(id in "[0-9a-f]{32}", path in "[a-zA-Z0-9_]{1,10}(/[a-zA-Z0-9_ ]{1,10}){0,3}") {
        let location = resolve::classify(&format!("runs:/{id}/{path}"));
        prop_assert_eq!(location, Ok(Location::Run { run_id: id, path }));
    }

    /// Resolution appends exactly one `/` between a base and a path.
    #[test]
    fn join_has_one_separator(base in "s3://[a-z]{3,8}(/[a-z0-9]{1,6}){0,3}/?", path in "/?[a-z0-9]{1,6}(/[a-z0-9]{1,6}){0,2}") {
        let joined = resolve::join(&base, &path);
        prop_assert!(joined.starts_with(base.trim_end_matches('/')));
        prop_assert!(!joined["s3://".len()..].contains("//"), "{joined}");
        prop_assert!(joined.ends_with(path.trim_start_matches('/')));
    }

    /// No password of a server URI ever shows in its display, its debug form, or a refusal.
    #[test]
    fn passwords_never_shown(
        engine in prop::sample::select(vec!["mysql", "mysql+pymysql", "postgresql", "postgresql+psycopg2", "mssql"]),
        user in "[a-z]{1,8}",
        password in "pw[A-Za-z0-9]{8,16}",
        host in "[a-z]{1,8}(:[0-9]{2,5})?",
        database in "[a-z_]{0,8}",
        query in prop::sample::select(vec!["", "?sslmode=require", "?connect_timeout=3", "?charset=utf8mb4"]),
    ) {
        let uri = format!("{engine}://{user}:{password}@{host}/{database}{query}");
        match BackendUri::parse(&uri) {
            Ok(parsed) => {
                prop_assert!(!parsed.to_string().contains(&password));
                let debug = format!("{parsed:?}");
                prop_assert!(!debug.contains(&password));
            }
            Err(err) => prop_assert!(!err.to_string().contains(&password), "{err}"),
        }
    }

    /// Parsing never panics on arbitrary input.
    #[test]
    fn parse_is_total(uri in any::<String>()) {
        let _ = BackendUri::parse(&uri);
    }
}
