//! The daemon's small HTTP/1.1 endpoint: `GET /metrics`, `/healthz`, `/livez`, and, with a
//! [`WebhookReceiver`], `POST /webhooks/mlflow`. A handful of fixed routes do not justify a web
//! framework; requests are parsed by httparse, with every size bounded before it is read.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Metrics;
use crate::webhook::{Delivery, Refusal, Verdict, WEBHOOK_PATH, WebhookReceiver};

/// The longest request head (request line and headers) read.
const MAX_HEAD: usize = 16 * 1024;

/// Serves `metrics` on `listener` (`/metrics`, `/healthz`, `/livez`), and MLflow deliveries on
/// `/webhooks/mlflow` when `webhook` is given, until the task is dropped.
pub async fn serve_http(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    webhook: Option<Arc<WebhookReceiver>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        let webhook = webhook.clone();
        tokio::spawn(async move {
            // A slow or broken client only loses its own connection.
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                answer(stream, &metrics, webhook.as_deref()),
            )
            .await;
        });
    }
}

/// The parts of a request head the routes use.
#[derive(Default)]
struct Head {
    method: String,
    path: String,
    /// Where the body starts in the bytes read.
    len: usize,
    content_length: Option<usize>,
    chunked: bool,
    content_type: Option<String>,
    delivery_id: Option<String>,
    timestamp: Option<String>,
    signature: Option<String>,
}

/// Parses the head in `bytes`; Ok(None) while incomplete.
fn parse_head(bytes: &[u8]) -> Result<Option<Head>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = request.parse(bytes)? else {
        return Ok(None);
    };
    let mut head = Head {
        method: request.method.unwrap_or_default().to_owned(),
        path: request.path.unwrap_or("/").to_owned(),
        len,
        ..Head::default()
    };
    for header in request.headers.iter() {
        let value = || String::from_utf8_lossy(header.value).trim().to_owned();
        match header.name.to_ascii_lowercase().as_str() {
            // An unparsable length is treated as too large: refused before any body is read.
            "content-length" => head.content_length = Some(value().parse().unwrap_or(usize::MAX)),
            "transfer-encoding" => head.chunked = true,
            "content-type" => head.content_type = Some(value()),
            "x-mlflow-delivery-id" => head.delivery_id = Some(value()),
            "x-mlflow-timestamp" => head.timestamp = Some(value()),
            "x-mlflow-signature" => head.signature = Some(value()),
            _ => {}
        }
    }
    Ok(Some(head))
}

async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    webhook: Option<&WebhookReceiver>,
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let head = loop {
        match parse_head(&request) {
            Ok(Some(head)) => break head,
            Ok(None) if request.len() < MAX_HEAD => {}
            _ => return respond(&mut stream, 400, "text/plain", "bad request\n").await,
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    };
    let path = head.path.split('?').next().unwrap_or("/");
    match (path, webhook) {
        (WEBHOOK_PATH, Some(receiver)) => {
            let (status, text) = deliver(&mut stream, request, &head, receiver).await?;
            respond(&mut stream, status, "text/plain", &text).await
        }
        ("/metrics", _) => {
            let mut text = metrics.render();
            if let Some(receiver) = webhook {
                text.push_str(&receiver.render_metrics());
            }
            respond(&mut stream, 200, "text/plain; version=0.0.4", &text).await
        }
        ("/healthz", _) if metrics.healthy() => {
            respond(&mut stream, 200, "text/plain", "ok\n").await
        }
        ("/healthz", _) => respond(&mut stream, 503, "text/plain", "last pass failed\n").await,
        ("/livez", _) => respond(&mut stream, 200, "text/plain", "ok\n").await,
        _ => respond(&mut stream, 404, "text/plain", "not found\n").await,
    }
}

/// Reads the body of a delivery (never more than the receiver takes) and has it checked.
async fn deliver(
    stream: &mut TcpStream,
    mut request: Vec<u8>,
    head: &Head,
    receiver: &WebhookReceiver,
) -> std::io::Result<(u16, String)> {
    if head.method != "POST" {
        return Ok((405, "POST only\n".into()));
    }
    let Some(length) = head.content_length.filter(|_| !head.chunked) else {
        return Ok((411, "Content-Length required\n".into()));
    };
    if length > receiver.max_body() {
        // Counted as a refusal like any other, without reading what was sent.
        let verdict = receiver.refuse(Refusal::TooLarge);
        return Ok((verdict.status(), "body too large\n".into()));
    }
    let mut body = request.split_off(head.len);
    body.truncate(length);
    let mut buf = [0u8; 4096];
    while body.len() < length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok((400, "body shorter than its Content-Length\n".into()));
        }
        body.extend_from_slice(&buf[..n.min(length - body.len())]);
    }
    let delivery = Delivery {
        content_type: head.content_type.as_deref(),
        id: head.delivery_id.as_deref(),
        timestamp: head.timestamp.as_deref(),
        signature: head.signature.as_deref(),
        body: &body,
    };
    let verdict = receiver.receive(&delivery, SystemTime::now());
    let id = head.delivery_id.as_deref().unwrap_or("");
    match &verdict {
        Verdict::Woke(event) => {
            tracing::debug!(delivery = id, entity = %event.entity, action = %event.action, model = ?event.model, "webhook: pass requested");
        }
        Verdict::Ignored(event) => {
            tracing::debug!(delivery = id, entity = %event.entity, "webhook: not about models");
        }
        Verdict::Refused(refusal) => {
            tracing::warn!(delivery = id, reason = %refusal, "webhook delivery refused");
        }
    }
    let text = match &verdict {
        Verdict::Woke(_) => "pass requested\n".to_owned(),
        Verdict::Ignored(_) => "ignored\n".to_owned(),
        Verdict::Refused(refusal) => format!("{refusal}\n"),
    };
    Ok((verdict.status(), text))
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
