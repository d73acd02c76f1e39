//! MLflow webhook deliveries as a trigger for the watch loop.
//!
//! MLflow (3.x OSS) signs each delivery as Standard Webhooks do: `X-MLflow-Signature` is
//! `v1,` + base64(HMAC-SHA256(secret, "{delivery id}.{timestamp}.{raw body}")), with the id in
//! `X-MLflow-Delivery-Id` and Unix seconds in `X-MLflow-Timestamp`. A delivery is accepted only
//! when its signature verifies (in constant time, over the raw bytes), its timestamp is within a
//! window of now, and its id was not seen before; then a model event wakes the loop. Delivery is
//! fire-and-forget and stage transitions send nothing, so periodic passes stay: a webhook only
//! makes the next pass come sooner.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use tokio::sync::Notify;

use crate::{Error, Result};

/// The path the daemon's listener serves deliveries on.
pub const WEBHOOK_PATH: &str = "/webhooks/mlflow";

/// The events that can change what we serve, as MLflow's `events` list names them (upper case,
/// as its REST API wants them): new versions, tags (profiles, environment) and aliases.
pub const WEBHOOK_EVENTS: [(&str, &str); 6] = [
    ("REGISTERED_MODEL", "CREATED"),
    ("MODEL_VERSION", "CREATED"),
    ("MODEL_VERSION_TAG", "SET"),
    ("MODEL_VERSION_TAG", "DELETED"),
    ("MODEL_VERSION_ALIAS", "CREATED"),
    ("MODEL_VERSION_ALIAS", "DELETED"),
];

/// The shared secret of a webhook. Its bytes are never printed (`Debug` hides them).
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// The secret in `path` (a mounted Secret), without a final line break; an empty file is an
    /// error, since it would let anyone sign.
    pub fn from_file(path: &Path) -> Result<WebhookSecret> {
        let config = |reason: String| Error::Config {
            field: format!("webhook secret file {}", path.display()),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| config(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| config("not UTF-8".into()))?;
        WebhookSecret::new(text.trim_end_matches(['\n', '\r'])).map_err(|e| match e {
            Error::Config { reason, .. } => config(reason),
            other => other,
        })
    }

    /// A secret from its text (as given to MLflow when the webhook was created).
    pub fn new(text: &str) -> Result<WebhookSecret> {
        if text.trim().is_empty() {
            return Err(Error::Config {
                field: "webhook secret".into(),
                reason: "empty".into(),
            });
        }
        Ok(WebhookSecret(text.as_bytes().to_vec()))
    }

    /// The text, to hand to MLflow when creating the webhook (never to a log).
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).expect("made from text")
    }

    /// `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`: what MLflow sends.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> String {
        let mac = self.mac(id, timestamp, body);
        let encoded = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        format!("v1,{encoded}")
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> hmac::Hmac<sha2_hmac::Sha256> {
        let mut mac = <hmac::Hmac<sha2_hmac::Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Whether any `v1,` signature in `header` (space-separated, as Standard Webhooks allows)
    /// is ours; compared in constant time.
    fn verifies(&self, header: &str, id: &str, timestamp: &str, body: &[u8]) -> bool {
        header.split(' ').any(|candidate| {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(given) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                return false;
            };
            self.mac(id, timestamp, body).verify_slice(&given).is_ok()
        })
    }
}

/// One delivery as the HTTP layer read it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delivery<'a> {
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// `X-MLflow-Delivery-Id`.
    pub id: Option<&'a str>,
    /// `X-MLflow-Timestamp` (Unix seconds).
    pub timestamp: Option<&'a str>,
    /// `X-MLflow-Signature`.
    pub signature: Option<&'a str>,
    /// The raw body.
    pub body: &'a [u8],
}

/// Why a delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The body is larger than the receiver takes (413).
    TooLarge,
    /// Not `application/json` (415).
    ContentType,
    /// A required header is missing or malformed (400).
    MissingHeader(&'static str),
    /// The timestamp is outside the window around now (400).
    Stale,
    /// The signature does not verify (401).
    BadSignature,
    /// This delivery id was already accepted (400).
    Replayed,
    /// The body is not an MLflow event (400).
    NotAnEvent,
}

impl Refusal {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            Refusal::TooLarge => 413,
            Refusal::ContentType => 415,
            Refusal::BadSignature => 401,
            Refusal::MissingHeader(_)
            | Refusal::Stale
            | Refusal::Replayed
            | Refusal::NotAnEvent => 400,
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::TooLarge => f.write_str("body too large"),
            Refusal::ContentType => f.write_str("content type must be application/json"),
            Refusal::MissingHeader(name) => write!(f, "missing or malformed {name}"),
            Refusal::Stale => f.write_str("timestamp outside the accepted window"),
            Refusal::BadSignature => f.write_str("signature does not verify"),
            Refusal::Replayed => f.write_str("delivery already received"),
            Refusal::NotAnEvent => f.write_str("not an MLflow webhook event"),
        }
    }
}

/// What a verified delivery said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `entity`, lower case (`model_version_alias`).
    pub entity: String,
    /// `action`, lower case (`created`).
    pub action: String,
    /// `data.name`: the registered model (or prompt) the event is about.
    pub model: Option<String>,
}

impl WebhookEvent {
    /// Whether the event can change what is served: registered models, versions, their tags
    /// and aliases; not prompts or budget policies.
    pub fn concerns_models(&self) -> bool {
        matches!(
            self.entity.as_str(),
            "registered_model" | "model_version" | "model_version_tag" | "model_version_alias"
        )
    }
}

/// The receiver's answer to a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Verified, and about models: the watch loop was woken.
    Woke(WebhookEvent),
    /// Verified, about something we do not serve (prompts…): nothing to do.
    Ignored(WebhookEvent),
    /// Refused; nothing happened.
    Refused(Refusal),
}

impl Verdict {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Woke(_) | Verdict::Ignored(_) => 200,
            Verdict::Refused(refusal) => refusal.status(),
        }
    }
}

/// Verifies deliveries and wakes the watch loop for the ones that matter.
#[derive(Debug)]
pub struct WebhookReceiver {
    secret: WebhookSecret,
    window: Duration,
    max_body: usize,
    wake: std::sync::Arc<Notify>,
    /// Accepted delivery ids with their timestamps; ids older than the window are dropped, since
    /// the window refuses them anyway.
    seen: Mutex<HashMap<String, u64>>,
    counts: [AtomicU64; 3],
}

impl WebhookReceiver {
    /// A receiver for `secret` that wakes `wake` (give the same `Notify` to
    /// [`WatchOptions::wake`](crate::WatchOptions)). Defaults: a 5-minute window either side of
    /// now (Standard Webhooks' tolerance), bodies up to 256 KiB.
    pub fn new(secret: WebhookSecret, wake: std::sync::Arc<Notify>) -> WebhookReceiver {
        WebhookReceiver {
            secret,
            window: Duration::from_secs(300),
            max_body: 256 * 1024,
            wake,
            seen: Mutex::new(HashMap::new()),
            counts: Default::default(),
        }
    }

    /// How far a delivery's timestamp may be from now.
    pub fn with_window(mut self, window: Duration) -> WebhookReceiver {
        self.window = window;
        self
    }

    /// The largest body taken, in bytes.
    pub fn with_max_body(mut self, bytes: usize) -> WebhookReceiver {
        self.max_body = bytes;
        self
    }

    /// The largest body taken; the HTTP layer refuses a larger `Content-Length` before reading.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// Deliveries so far: (woke the loop, ignored, refused).
    pub fn counts(&self) -> (u64, u64, u64) {
        let [woke, ignored, refused] = &self.counts;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        (get(woke), get(ignored), get(refused))
    }

    /// Checks `delivery` as of `now` and, when it is a verified model event, wakes the loop.
    pub fn receive(&self, delivery: &Delivery<'_>, now: SystemTime) -> Verdict {
        let verdict = match self.check(delivery, now) {
            Ok(event) if event.concerns_models() => {
                self.wake.notify_one();
                Verdict::Woke(event)
            }
            Ok(event) => Verdict::Ignored(event),
            Err(refusal) => Verdict::Refused(refusal),
        };
        self.count(verdict)
    }

    /// Counts a refusal the HTTP layer made before there was a delivery to check (a body
    /// announced larger than [`max_body`](Self::max_body) is never read).
    pub(crate) fn refuse(&self, refusal: Refusal) -> Verdict {
        self.count(Verdict::Refused(refusal))
    }

    /// The counters in Prometheus text, appended to `/metrics`.
    pub fn render_metrics(&self) -> String {
        let (woke, ignored, refused) = self.counts();
        let name = "mlflow_gitops_webhook_deliveries_total";
        format!(
            "# HELP {name} MLflow webhook deliveries, by what became of them.\n# TYPE {name} counter\n\
             {name}{{result=\"woke\"}} {woke}\n{name}{{result=\"ignored\"}} {ignored}\n\
             {name}{{result=\"refused\"}} {refused}\n"
        )
    }

    fn count(&self, verdict: Verdict) -> Verdict {
        let slot = match verdict {
            Verdict::Woke(_) => 0,
            Verdict::Ignored(_) => 1,
            Verdict::Refused(_) => 2,
        };
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        verdict
    }

    fn check(&self, delivery: &Delivery<'_>, now: SystemTime) -> Result<WebhookEvent, Refusal> {
        if delivery.body.len() > self.max_body {
            return Err(Refusal::TooLarge);
        }
        let json = delivery
            .content_type
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Refusal::ContentType);
        }
        let id = delivery
            .id
            .filter(|id| !id.is_empty() && id.len() <= 128)
            .ok_or(Refusal::MissingHeader("X-MLflow-Delivery-Id"))?;
        let timestamp = delivery
            .timestamp
            .ok_or(Refusal::MissingHeader("X-MLflow-Timestamp"))?;
        let sent: u64 = timestamp
            .parse()
            .map_err(|_| Refusal::MissingHeader("X-MLflow-Timestamp"))?;
        let signature = delivery
            .signature
            .ok_or(Refusal::MissingHeader("X-MLflow-Signature"))?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        if now.abs_diff(sent) > self.window.as_secs() {
            return Err(Refusal::Stale);
        }
        // Only a verified delivery may enter the replay cache: otherwise anyone could fill it
        // with the ids of deliveries yet to come.
        if !self
            .secret
            .verifies(signature, id, timestamp, delivery.body)
        {
            return Err(Refusal::BadSignature);
        }
        let event = parse_event(delivery.body).ok_or(Refusal::NotAnEvent)?;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let oldest = now.saturating_sub(self.window.as_secs());
        if seen.len() > 1024 {
            seen.retain(|_, at| *at >= oldest);
        }
        if seen.insert(id.to_owned(), sent).is_some() {
            return Err(Refusal::Replayed);
        }
        Ok(event)
    }
}

fn parse_event(body: &[u8]) -> Option<WebhookEvent> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        entity: String,
        action: String,
        #[serde(default)]
        data: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let envelope: Envelope = serde_json::from_slice(body).ok()?;
    let model = envelope
        .data
        .as_ref()
        .and_then(|data| data.get("name"))
        .and_then(|name| name.as_str())
        .map(str::to_owned);
    Some(WebhookEvent {
        entity: envelope.entity.to_ascii_lowercase(),
        action: envelope.action.to_ascii_lowercase(),
        model,
    })
}

#[cfg(test)]
mod tests;
