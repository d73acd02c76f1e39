use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::FutureExt as _;
use proptest::prelude::*;

use super::*;

const ALIAS_MOVED: &str = r#"{"entity": "model_version_alias", "action": "created", "timestamp": "2026-12-06T10:00:00.000000+00:00", "data": {"name": "wine", "alias": "champion", "version": "2"}}"#;

fn receiver() -> (WebhookReceiver, Arc<Notify>) {
    let wake = Arc::new(Notify::new());
    let secret = WebhookSecret::new("s3cret-shared-with-mlflow").unwrap();
    (WebhookReceiver::new(secret, Arc::clone(&wake)), wake)
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn seconds(at: SystemTime) -> String {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs().to_string()
}

/// A delivery as MLflow sends it, signed with `secret`.
struct Signed {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Signed {
    fn new(secret: &str, id: &str, at: SystemTime, body: &str) -> Signed {
        let timestamp = seconds(at);
        let signature = WebhookSecret::new(secret)
            .unwrap()
            .sign(id, &timestamp, body.as_bytes());
        Signed {
            id: id.into(),
            timestamp,
            signature,
            body: body.as_bytes().to_vec(),
        }
    }

    fn delivery(&self) -> Delivery<'_> {
        Delivery {
            content_type: Some("application/json"),
            id: Some(&self.id),
            timestamp: Some(&self.timestamp),
            signature: Some(&self.signature),
            body: &self.body,
        }
    }
}

fn woke(wake: &Notify) -> bool {
    wake.notified().now_or_never().is_some()
}

#[test]
fn a_signed_model_event_wakes_the_loop_once() {
    let (receiver, wake) = receiver();
    let signed = Signed::new("s3cret-shared-with-mlflow", "d-1", now(), ALIAS_MOVED);
    let verdict = receiver.receive(&signed.delivery(), now());
    let Verdict::Woke(event) = &verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(
        (
            event.entity.as_str(),
            event.action.as_str(),
            event.model.as_deref()
        ),
        ("model_version_alias", "created", Some("wine"))
    );
    assert_eq!(verdict.status(), 200);
    assert!(woke(&wake));
    assert!(!woke(&wake), "one permit per wake");
    assert_eq!(receiver.counts(), (1, 0, 0));
}

#[test]
fn every_bad_delivery_is_refused_with_its_status_and_wakes_nothing() {
    let (receiver, wake) = receiver();
    let secret = "s3cret-shared-with-mlflow";
    let forged = Signed::new("a guess", "d-forged", now(), ALIAS_MOVED);
    let stale = Signed::new(
        secret,
        "d-stale",
        now() - Duration::from_secs(600),
        ALIAS_MOVED,
    );
    let future = Signed::new(
        secret,
        "d-future",
        now() + Duration::from_secs(600),
        ALIAS_MOVED,
    );
    let big_body = format!(
        "{{\"entity\": \"model_version\", \"pad\": \"{}\"}}",
        "x".repeat(300_000)
    );
    let oversized = Signed::new(secret, "d-big", now(), &big_body);
    let not_json = Signed::new(secret, "d-text", now(), "entity=model_version");
    let ok = Signed::new(secret, "d-ok", now(), ALIAS_MOVED);
    assert!(matches!(
        receiver.receive(&ok.delivery(), now()),
        Verdict::Woke(_)
    ));
    assert!(woke(&wake));

    // The body of `ok`, changed after signing.
    let mut tampered = Signed::new(secret, "d-tampered", now(), ALIAS_MOVED);
    tampered.body = ALIAS_MOVED.replace("\"2\"", "\"3\"").into_bytes();
    let cases: Vec<(&str, Delivery<'_>, u16)> = vec![
        ("forged signature", forged.delivery(), 401),
        ("tampered body", tampered.delivery(), 401),
        ("stale timestamp", stale.delivery(), 400),
        ("timestamp from the future", future.delivery(), 400),
        ("replayed id", ok.delivery(), 400),
        ("oversized body", oversized.delivery(), 413),
        (
            "wrong content type",
            Delivery {
                content_type: Some("text/plain"),
                ..ok.delivery()
            },
            415,
        ),
        (
            "no content type",
            Delivery {
                content_type: None,
                ..ok.delivery()
            },
            415,
        ),
        (
            "no signature",
            Delivery {
                signature: None,
                ..ok.delivery()
            },
            400,
        ),
        (
            "no delivery id",
            Delivery {
                id: None,
                ..ok.delivery()
            },
            400,
        ),
        (
            "timestamp not in seconds",
            Delivery {
                timestamp: Some("2026-12-06T10:00:00Z"),
                ..ok.delivery()
            },
            400,
        ),
        ("signed but not an event", not_json.delivery(), 400),
    ];
    for (what, delivery, status) in cases {
        let verdict = receiver.receive(&delivery, now());
        assert!(
            matches!(verdict, Verdict::Refused(_)),
            "{what}: {verdict:?}"
        );
        assert_eq!(verdict.status(), status, "{what}: {verdict:?}");
        assert!(!woke(&wake), "{what} woke the loop");
    }
    assert_eq!(receiver.counts(), (1, 0, 12));
}

#[test]
fn a_refused_forgery_does_not_spend_the_real_delivery_id() {
    let (receiver, _wake) = receiver();
    let forged = Signed::new("a guess", "d-7", now(), ALIAS_MOVED);
    let real = Signed::new("s3cret-shared-with-mlflow", "d-7", now(), ALIAS_MOVED);
    assert_eq!(receiver.receive(&forged.delivery(), now()).status(), 401);
    assert_eq!(receiver.receive(&real.delivery(), now()).status(), 200);
}

#[test]
fn prompt_events_are_verified_and_ignored() {
    let (receiver, wake) = receiver();
    let body = r#"{"entity": "prompt_version", "action": "created", "data": {"name": "greeting"}}"#;
    let signed = Signed::new("s3cret-shared-with-mlflow", "d-p", now(), body);
    assert!(matches!(
        receiver.receive(&signed.delivery(), now()),
        Verdict::Ignored(_)
    ));
    assert!(!woke(&wake));
}

#[test]
fn several_signatures_in_the_header_are_each_tried() {
    let (receiver, _wake) = receiver();
    let mut signed = Signed::new("s3cret-shared-with-mlflow", "d-r", now(), ALIAS_MOVED);
    // A key rotation: the old secret's signature first, then ours.
    let old = Signed::new("old secret", "d-r", now(), ALIAS_MOVED);
    signed.signature = format!("{} {}", old.signature, signed.signature);
    assert_eq!(receiver.receive(&signed.delivery(), now()).status(), 200);
}

#[test]
fn secrets_are_read_without_the_final_line_break_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "s3cret\n").unwrap();
    let secret = WebhookSecret::from_file(&file).unwrap();
    assert_eq!(secret.expose(), "s3cret");
    assert!(!format!("{secret:?}").contains("s3cret"));
    std::fs::write(&file, "\n").unwrap();
    let err = WebhookSecret::from_file(&file).unwrap_err().to_string();
    assert!(
        err.contains(&file.display().to_string()) && err.contains("empty"),
        "{err}"
    );
}

proptest! {
    /// Security invariant: a delivery is accepted only with a signature over exactly its id,
    /// timestamp and body: changing any byte of them, or signing with any other secret, is refused.
    #[test]
    fn only_exactly_signed_deliveries_are_accepted(
        body_tail in proptest::collection::vec(any::<u8>(), 0..64),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        other_secret in "[ -~]{1,40}",
    ) {
        let secret = "s3cret-shared-with-mlflow";
        prop_assume!(other_secret != secret);
        let mut body = br#"{"entity": "model_version", "action": "created", "data": {"name": "m"}, "x": ""#.to_vec();
        body.extend(body_tail.iter().filter(|b| b.is_ascii_alphanumeric()));
        body.extend_from_slice(b"\"}");
        let at = now();
        let timestamp = seconds(at);
        let ours = WebhookSecret::new(secret).unwrap();
        let signature = ours.sign("d-1", &timestamp, &body);

        // The signed fields joined, one bit flipped somewhere in them.
        let mut fields = [b"d-1".to_vec(), timestamp.clone().into_bytes(), body.clone()];
        let total: usize = fields.iter().map(Vec::len).sum();
        let mut at_byte = flip.index(total);
        for field in &mut fields {
            if at_byte < field.len() {
                field[at_byte] ^= 1 << bit;
                break;
            }
            at_byte -= field.len();
        }
        let [id, stamp, changed_body] = fields;
        let (id, stamp) = (String::from_utf8_lossy(&id).into_owned(), String::from_utf8_lossy(&stamp).into_owned());
        let (receiver, wake) = receiver();
        let changed = Delivery {
            content_type: Some("application/json"),
            id: Some(&id),
            timestamp: Some(&stamp),
            signature: Some(&signature),
            body: &changed_body,
        };
        prop_assert!(matches!(receiver.receive(&changed, at), Verdict::Refused(_)));

        let theirs = WebhookSecret::new(&other_secret).unwrap().sign("d-1", &timestamp, &body);
        let forged = Delivery {
            content_type: Some("application/json"),
            id: Some("d-1"),
            timestamp: Some(&timestamp),
            signature: Some(&theirs),
            body: &body,
        };
        prop_assert_eq!(receiver.receive(&forged, at), Verdict::Refused(Refusal::BadSignature));
        prop_assert!(!woke(&wake));

        let genuine = Delivery { signature: Some(&signature), ..forged };
        prop_assert!(matches!(receiver.receive(&genuine, at), Verdict::Woke(_)));
    }
}
