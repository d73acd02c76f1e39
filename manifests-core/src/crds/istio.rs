//! Istio routing (`networking.istio.io/v1`) and security (`security.istio.io/v1`) kinds.

use std::collections::BTreeMap;

use kube_derive::CustomResource;
use serde::{Deserialize, Serialize};

/// An Istio Gateway: which ingress gateway pods accept which hosts on which ports.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "networking.istio.io",
    version = "v1",
    kind = "Gateway",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Istio Gateway (`networking.istio.io/v1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// Labels of the gateway pods this configuration applies to.
    pub selector: BTreeMap<String, String>,
    /// The listeners.
    pub servers: Vec<GatewayServer>,
}

/// One listener of a [`Gateway`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GatewayServer {
    /// The port to listen on.
    pub port: GatewayPort,
    /// Hosts served on it (`*` for any).
    pub hosts: Vec<String>,
}

/// A listener's port.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GatewayPort {
    /// Port number.
    pub number: u32,
    /// Port name.
    pub name: String,
    /// Protocol: `HTTP`, `HTTPS`, `GRPC`, `TCP`, …
    pub protocol: String,
}

/// An Istio VirtualService: HTTP routing rules for hosts, bound to gateways.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "networking.istio.io",
    version = "v1",
    kind = "VirtualService",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Istio VirtualService (`networking.istio.io/v1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct VirtualServiceSpec {
    /// Hosts the routes apply to.
    pub hosts: Vec<String>,
    /// Gateways (`namespace/name`) the routes are attached to.
    pub gateways: Vec<String>,
    /// Ordered HTTP routes; the first match wins.
    pub http: Vec<HttpRoute>,
}

/// One HTTP route of a [`VirtualService`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// The route's name, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Conditions; any one matching selects the route.
    #[serde(rename = "match", default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpMatchRequest>,
    /// Rewrite applied before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<HttpRewrite>,
    /// Where the traffic goes.
    pub route: Vec<HttpRouteDestination>,
    /// Where a copy of the requests goes (its responses are discarded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<Destination>,
    /// How many of the requests are copied to [`mirror`](Self::mirror).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_percentage: Option<MirrorPercentage>,
    /// Request timeout, e.g. `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// A request condition.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatchRequest {
    /// Condition on the URI path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<StringMatch>,
}

/// A string condition: exactly one of its forms.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub enum StringMatch {
    /// Equal to.
    Exact(String),
    /// Starts with.
    Prefix(String),
    /// Matches the RE2 expression.
    Regex(String),
}

/// A rewrite of the request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HttpRewrite {
    /// Replacement for the matched path prefix.
    pub uri: String,
}

/// A weighted destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteDestination {
    /// The service.
    pub destination: Destination,
    /// Its share of the route's requests, relative to the others' (ours always sum to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// A percentage of requests to mirror.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct MirrorPercentage {
    /// Percent, 0–100.
    pub value: u32,
}

/// A service destination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// Fully qualified host, e.g. `svc.ns.svc.cluster.local`.
    pub host: String,
    /// Port on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<PortSelector>,
}

/// A port by number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PortSelector {
    /// Port number.
    pub number: u32,
}

/// Workloads selected by labels (empty: every workload of the namespace).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels a pod must carry.
    pub match_labels: BTreeMap<String, String>,
}

/// An Istio AuthorizationPolicy: which requests a workload accepts.
///
/// Semantics worth remembering: with action ALLOW, a policy with no rules matches nothing (so it
/// denies everything not allowed elsewhere), while one empty rule `{}` matches every request.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "security.istio.io",
    version = "v1",
    kind = "AuthorizationPolicy",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Istio AuthorizationPolicy (`security.istio.io/v1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicySpec {
    /// Workloads the policy applies to; none means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// `ALLOW`, `DENY`, `AUDIT` or `CUSTOM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The rules; a request matching any rule matches the policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

/// One rule: all of its parts must match.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// Sources; any may match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<RuleFrom>,
    /// Operations; any may match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<RuleTo>,
    /// Extra conditions; all must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
}

/// A source clause.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RuleFrom {
    /// The source.
    pub source: Source,
}

/// Who sent the request (identities exist only with mutual TLS).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    /// SPIFFE principals, e.g. `cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<String>,
    /// Source namespaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Verified JWT principals (`iss/sub`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_principals: Vec<String>,
    /// Requests whose JWT principal is NOT one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_request_principals: Vec<String>,
}

/// An operation clause.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RuleTo {
    /// The operation.
    pub operation: Operation,
}

/// What the request does.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    /// Destination ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    /// HTTP methods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Paths excluded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_paths: Vec<String>,
}

/// A condition on request attributes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Attribute, e.g. `request.headers[kubeflow-userid]` or `source.namespace`.
    pub key: String,
    /// Accepted values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Refused values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_values: Vec<String>,
}

/// An Istio RequestAuthentication: which JWT issuers a workload verifies.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "security.istio.io",
    version = "v1",
    kind = "RequestAuthentication",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Istio RequestAuthentication (`security.istio.io/v1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct RequestAuthenticationSpec {
    /// Workloads it applies to; none means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// Accepted issuers.
    pub jwt_rules: Vec<JwtRule>,
}

/// One accepted JWT issuer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct JwtRule {
    /// The `iss` claim.
    pub issuer: String,
    /// Where the signing keys are published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Keep the token on the forwarded request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_original_token: Option<bool>,
    /// Claims copied into headers, from the verified token only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_claim_to_headers: Vec<ClaimToHeader>,
}

/// A claim copied into a header.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClaimToHeader {
    /// Header name.
    pub header: String,
    /// Claim name.
    pub claim: String,
}

/// An Istio PeerAuthentication: whether workloads accept plain text.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "security.istio.io",
    version = "v1",
    kind = "PeerAuthentication",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Istio PeerAuthentication (`security.istio.io/v1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthenticationSpec {
    /// Workloads it applies to; none means the whole namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<WorkloadSelector>,
    /// The mutual TLS mode.
    pub mtls: MutualTls,
}

/// Mutual TLS setting.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MutualTls {
    /// `STRICT`, `PERMISSIVE` or `DISABLE`.
    pub mode: String,
}
