//! The team's Istio Gateway and the route to its MLflow UI.

use super::mlflow_server;
use super::spec::TenantSpec;
use super::workload::Component;
use crate::crds::istio::{
    Destination, Gateway, GatewayPort, GatewayServer, GatewaySpec, HttpMatchRequest, HttpRewrite,
    HttpRoute, HttpRouteDestination, PortSelector, StringMatch, VirtualService, VirtualServiceSpec,
};
use crate::serving::GATEWAY_NAME;
use crate::{ManifestSet, Result};

pub(crate) fn render(spec: &TenantSpec) -> Result<ManifestSet> {
    let ns = spec.namespace.as_str();
    let component = Component {
        namespace: ns,
        name: "mlflow-ui",
        component: "ingress",
    };
    let gateway = Gateway {
        metadata: component.metadata(GATEWAY_NAME),
        spec: GatewaySpec {
            selector: spec.ingress.gateway_selector.clone(),
            servers: vec![GatewayServer {
                port: GatewayPort {
                    number: 80,
                    name: "http".into(),
                    protocol: "HTTP".into(),
                },
                hosts: spec.ingress.hosts.clone(),
            }],
        },
    };
    let path = spec
        .ingress
        .mlflow_path
        .clone()
        .unwrap_or_else(|| format!("/mlflow/{ns}/"));
    let route = VirtualService {
        metadata: component.metadata("mlflow-ui"),
        spec: VirtualServiceSpec {
            hosts: spec.ingress.hosts.clone(),
            gateways: vec![format!("{ns}/{GATEWAY_NAME}")],
            http: vec![HttpRoute {
                name: Some("mlflow-ui".into()),
                matches: vec![HttpMatchRequest {
                    uri: Some(StringMatch::Prefix(path)),
                }],
                rewrite: Some(HttpRewrite { uri: "/".into() }),
                route: vec![HttpRouteDestination {
                    destination: Destination {
                        host: format!("{}.{ns}.svc.cluster.local", mlflow_server::NAME),
                        port: Some(PortSelector {
                            number: mlflow_server::PORT as u32,
                        }),
                    },
                    weight: None,
                }],
                timeout: Some("300s".into()),
                ..Default::default()
            }],
        },
    };
    let mut set = ManifestSet::new();
    set.push(&gateway)?;
    set.push(&route)?;
    Ok(set)
}
