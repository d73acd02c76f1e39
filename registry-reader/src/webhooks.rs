//! Registering the webhook through which an MLflow server announces registry changes (MLflow 3.x
//! OSS, `/api/2.0/mlflow/webhooks`). Registering twice updates the webhook of the same name, so
//! the command can run at every deployment.

use serde::Deserialize;
use serde_json::json;

use crate::{Error, RestRegistry};

/// The webhook to create or update.
#[derive(Clone)]
pub struct WebhookSpec<'a> {
    /// Its name (1–63 characters `[a-z0-9._-]`, as MLflow requires).
    pub name: &'a str,
    /// Where deliveries go.
    pub url: &'a str,
    /// `(entity, action)` pairs in MLflow's upper-case REST spelling, e.g.
    /// `("MODEL_VERSION_ALIAS", "CREATED")`.
    pub events: &'a [(&'a str, &'a str)],
    /// The signing secret (sent to the server, which encrypts it; never printed).
    pub secret: &'a str,
    /// A description shown in MLflow.
    pub description: &'a str,
}

impl std::fmt::Debug for WebhookSpec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// What registering did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A new webhook, with its id.
    Created(String),
    /// The webhook of that name was updated (URL, events, secret, active again), with its id.
    Updated(String),
}

impl Registered {
    /// The webhook's id.
    pub fn id(&self) -> &str {
        match self {
            Registered::Created(id) | Registered::Updated(id) => id,
        }
    }
}

/// MLflow's answer to a test delivery.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WebhookTest {
    /// Whether the receiver answered 2xx.
    #[serde(default)]
    pub success: bool,
    /// The receiver's HTTP status, when it answered.
    #[serde(default)]
    pub response_status: Option<u16>,
    /// The receiver's answer, or MLflow's error.
    #[serde(default, alias = "error_message")]
    pub response_body: Option<String>,
}

#[derive(Deserialize)]
struct Listed {
    webhook_id: String,
    name: String,
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    webhooks: Vec<Listed>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct One {
    webhook: Listed,
}

#[derive(Deserialize)]
struct Tested {
    result: WebhookTest,
}

impl RestRegistry {
    /// Creates the webhook, or updates the one with the same name.
    pub async fn register_webhook(&self, spec: &WebhookSpec<'_>) -> Result<Registered, Error> {
        let events: Vec<_> = spec
            .events
            .iter()
            .map(|(entity, action)| json!({ "entity": entity, "action": action }))
            .collect();
        let mut body = json!({
            "url": spec.url,
            "events": events,
            "secret": spec.secret,
            "description": spec.description,
            "status": "ACTIVE",
        });
        match self.find_webhook(spec.name).await? {
            Some(id) => {
                let path = format!("webhooks/{id}");
                let answer = self
                    .send(reqwest::Method::PATCH, &path, &[], Some(&body), "default")
                    .await?;
                let One { webhook } = self.parse(&format!("PATCH {path}"), answer)?;
                Ok(Registered::Updated(webhook.webhook_id))
            }
            None => {
                body["name"] = json!(spec.name);
                let answer = self
                    .send(
                        reqwest::Method::POST,
                        "webhooks",
                        &[],
                        Some(&body),
                        "default",
                    )
                    .await?;
                let One { webhook } = self.parse("POST webhooks", answer)?;
                Ok(Registered::Created(webhook.webhook_id))
            }
        }
    }

    /// Has the server send a test delivery (of the webhook's first event) and reports the answer.
    pub async fn test_webhook(&self, id: &str) -> Result<WebhookTest, Error> {
        let path = format!("webhooks/{id}/test");
        let answer = self
            .send(
                reqwest::Method::POST,
                &path,
                &[],
                Some(&json!({})),
                "default",
            )
            .await?;
        let Tested { result } = self.parse(&format!("POST {path}"), answer)?;
        Ok(result)
    }

    async fn find_webhook(&self, name: &str) -> Result<Option<String>, Error> {
        let mut token = String::new();
        loop {
            let mut query = vec![("max_results", "1000")];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let answer = self
                .send(reqwest::Method::GET, "webhooks", &query, None, "default")
                .await?;
            let page: Page = self.parse("GET webhooks", answer)?;
            if let Some(found) = page.webhooks.into_iter().find(|w| w.name == name) {
                return Ok(Some(found.webhook_id));
            }
            match page.next_page_token {
                Some(next) if !next.is_empty() => token = next,
                _ => return Ok(None),
            }
        }
    }
}
