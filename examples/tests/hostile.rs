//! Hostile registry content through the whole pipeline: names, aliases, tags and sources with YAML
//! specials, newlines, `../`, absolute paths, control characters and 64 KiB strings, and a version
//! whose artifacts vanished, written into a real MLflow registry behind MLflow's back.
//!
//! Each is served safely or reported as a skipped version; the rest still syncs. What Kubernetes
//! will see (kustomize's output, read by a YAML 1.1 parser) holds exactly the expected objects,
//! with every hostile string back as data; nothing is written outside the managed prefix or the
//! mirror prefix, and nothing is read from outside the allowed source directory.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Scene, text};
use serde_json::Value;

/// A SQLite string expression for `s`: control characters as `char(n)`, quotes doubled.
fn sql_text(s: &str) -> String {
    let mut parts = Vec::new();
    let mut literal = String::new();
    for c in s.chars() {
        if c.is_control() {
            if !literal.is_empty() {
                parts.push(format!("'{}'", literal.replace('\'', "''")));
                literal.clear();
            }
            parts.push(format!("char({})", c as u32));
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() || parts.is_empty() {
        parts.push(format!("'{}'", literal.replace('\'', "''")));
    }
    parts.join(" || ")
}

struct Registry<'a>(&'a Scene);

impl Registry<'_> {
    fn sql(&self, statement: &str) {
        self.0.registry.database().query(statement);
    }

    /// A model whose version 1 is in Production with `source`.
    fn model(&self, name: &str, source: &str) {
        let name = sql_text(name);
        self.sql(&format!(
            "INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES ({name}, 1, 1)"
        ));
        self.sql(&format!(
            "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, source, status) \
             VALUES ({name}, 1, 1, 1, 'Production', {}, 'READY')",
            sql_text(source)
        ));
    }

    /// A model like [`model`](Self::model) with real files in the allowed storage directory.
    fn served_model(&self, name: &str, dir: &str) {
        let path = self.0.storage.path().join(dir);
        testkit::bulk::write_model_files(&path, 9, 1024);
        self.model(name, path.to_str().unwrap());
    }
}

const YAML_DOCUMENT: &str = "evil\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: stolen}";
const TRAVERSAL: &str = "../../../etc/cron.d";
const SPECIALS: &str = "/abs: {a: [b]} # & * ! | > ' \" % @ ` ~ ? , -";
const CONTROL: &str = "bell\u{7}tab\tcr\rend";

#[test]
fn hostile_rows_are_served_as_data_or_skipped_and_nothing_escapes() {
    let scene = Scene::new(1, 1024);
    let r = Registry(&scene);
    r.served_model(YAML_DOCUMENT, "yaml");
    r.served_model(TRAVERSAL, "traversal");
    r.served_model(SPECIALS, "specials");
    r.served_model(CONTROL, "control");
    // Longer than any column MLflow declares (SQLite keeps it anyway).
    r.served_model(&"n".repeat(64 * 1024), "long");
    // Sources: outside the allowed directory, with `..`, and vanished.
    r.model("etc-source", "/etc");
    r.model(
        "dotdot-source",
        &format!("{}/../../../etc", scene.storage.path().display()),
    );
    r.model(
        "vanished-source",
        scene.storage.path().join("gone").to_str().unwrap(),
    );
    // Aliases and tags on the good model (model-00000: v1 Staging, v2 Production + champion).
    r.sql(&format!(
        "INSERT INTO registered_model_aliases (alias, version, name) VALUES ({}, 2, 'model-00000')",
        sql_text("x\n---\nkind: Secret")
    ));
    let tags = [
        ("a: b", "\n---\napiVersion: v1\nkind: Secret\n"),
        ("quote\"key", "{{ template }} ${VAR} $(cmd)"),
        ("big", &"v".repeat(64 * 1024)),
    ];
    for (key, value) in tags {
        r.sql(&format!(
            "INSERT INTO model_version_tags (\"key\", value, name, version) VALUES ({}, {}, 'model-00000', 2)",
            sql_text(key),
            sql_text(value)
        ));
    }

    let output = scene.sync().output().unwrap();
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let skipped: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("skipped: "))
        .collect();
    for (what, expected) in [
        ("the 64 KiB name", "bytes long"),
        ("the alias", "x\\n---"),
        ("/etc", "outside the directories"),
        ("`..`", "`..`"),
        ("the vanished source", "no files"),
    ] {
        assert!(
            skipped.iter().any(|l| l.contains(expected)),
            "{what} is not reported:\n{said}"
        );
    }
    assert_eq!(skipped.len(), 5, "{said}");
    assert!(
        skipped.iter().all(|l| l.len() < 2048),
        "a skipped line carries a 64 KiB string"
    );

    // The repository: only the managed prefix, and kustomize builds valid objects from it.
    let files = scene.remote.files("main");
    assert!(
        files.iter().all(|f| f.starts_with("deployments/")),
        "{files:?}"
    );
    let checkout = scene.remote.export("main", "deployments/");
    let deployments = checkout.path().join("deployments");
    testkit::kube::assert_valid_kustomization(&deployments);
    let objects = testkit::kube::yaml11_documents(&testkit::kube::kustomize(&deployments));

    // Exactly the expected objects: three per served channel, nothing injected.
    let kinds: BTreeMap<String, usize> = objects.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o["kind"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        m
    });
    let served_channels = 3 + 4; // model-00000: staging, production, champion; 4 hostile names
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("Deployment".to_owned(), served_channels),
            ("Service".to_owned(), served_channels),
            ("VirtualService".to_owned(), served_channels),
        ]),
        "{kinds:?}"
    );
    let annotation = |o: &Value, key: &str| -> Option<String> {
        o["metadata"]["annotations"][format!("mlflow-gitops.io/{key}")]
            .as_str()
            .map(str::to_owned)
    };
    let names: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["kind"] == "Deployment")
        .filter_map(|o| annotation(o, "model"))
        .collect();
    let expected: BTreeSet<String> = ["model-00000", YAML_DOCUMENT, TRAVERSAL, SPECIALS, CONTROL]
        .map(str::to_owned)
        .into();
    assert_eq!(names, expected, "the names do not come back as data");
    let production = objects
        .iter()
        .find(|o| {
            o["kind"] == "Deployment"
                && annotation(o, "model").as_deref() == Some("model-00000")
                && annotation(o, "channel").as_deref() == Some("production")
        })
        .expect("model-00000's production Deployment");
    let served_tags: BTreeMap<String, String> =
        serde_json::from_str(&annotation(production, "tags").unwrap()).unwrap();
    for (key, value) in tags {
        assert_eq!(
            served_tags.get(key).map(String::as_str),
            Some(value),
            "tag {key:?}"
        );
    }
    for o in &objects {
        let name = o["metadata"]["name"].as_str().unwrap();
        assert!(
            manifests_core::naming::is_rfc1035_label(name),
            "object name {name:?}"
        );
        assert_eq!(o["metadata"]["namespace"], "models");
    }

    // The bucket: the mirrors of served versions only, all under the mirror prefix.
    let everything = scene.bucket.list("");
    assert!(
        everything.iter().all(|o| o.path.starts_with("models/")),
        "{:?}",
        everything.iter().map(|o| &o.path).collect::<Vec<_>>()
    );
    let mirrored: BTreeSet<String> = everything
        .iter()
        .filter(|o| o.path.ends_with("/.mlflow-gitops-mirror.json"))
        .map(|o| o.path.clone())
        .collect();
    assert_eq!(mirrored.len(), 2 + 4, "{mirrored:?}");
    assert!(
        everything
            .iter()
            .all(|o| !o.path.contains("passwd") && !o.path.contains("hosts")),
        "files of /etc were copied"
    );
}
