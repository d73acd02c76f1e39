//! The shapes every tenant component repeats: a one-container Deployment with its ServiceAccount,
//! Service and volume claim, all locked down the same way.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, Service,
    ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::meta;

/// One component of the tenant: its name doubles as `app.kubernetes.io/name`.
pub(crate) struct Component<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub component: &'a str,
}

impl Component<'_> {
    pub fn labels(&self) -> BTreeMap<String, String> {
        meta::standard_labels(self.name, self.namespace, self.component)
    }

    pub fn metadata(&self, name: &str) -> ObjectMeta {
        meta::object_meta(name, self.namespace, self.labels(), BTreeMap::new())
    }

    /// A single-replica Deployment running `container` as the component's ServiceAccount.
    /// `Recreate` because every component here owns a ReadWriteOnce volume or a lock: two pods
    /// side by side during a rolling update would fight over it.
    pub fn deployment(
        &self,
        mut container: Container,
        volumes: Vec<Volume>,
        talks_to_api: bool,
    ) -> Deployment {
        container.security_context = Some(meta::restricted_container_security());
        Deployment {
            metadata: self.metadata(self.name),
            spec: Some(DeploymentSpec {
                replicas: Some(1),
                strategy: Some(DeploymentStrategy {
                    type_: Some("Recreate".into()),
                    ..Default::default()
                }),
                selector: LabelSelector {
                    match_labels: Some(meta::selector_labels(self.name, self.namespace)),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(self.labels()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(self.name.to_owned()),
                        automount_service_account_token: Some(talks_to_api),
                        security_context: Some(meta::restricted_pod_security()),
                        containers: vec![container],
                        volumes: (!volumes.is_empty()).then_some(volumes),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A ClusterIP Service for the named container ports.
    pub fn service(&self, ports: &[(&str, i32)]) -> Service {
        Service {
            metadata: self.metadata(self.name),
            spec: Some(ServiceSpec {
                selector: Some(meta::selector_labels(self.name, self.namespace)),
                ports: Some(
                    ports
                        .iter()
                        .map(|(name, port)| ServicePort {
                            name: Some((*name).to_owned()),
                            port: *port,
                            target_port: Some(IntOrString::String((*name).to_owned())),
                            protocol: Some("TCP".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The component's own ServiceAccount (no token mounted unless the Deployment asks).
    pub fn service_account(&self) -> ServiceAccount {
        ServiceAccount {
            metadata: self.metadata(self.name),
            automount_service_account_token: Some(false),
            ..Default::default()
        }
    }

    /// A ReadWriteOnce claim.
    pub fn claim(&self, name: &str, size: &str, class: Option<&str>) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: self.metadata(name),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                storage_class_name: class.map(str::to_owned),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".to_owned(),
                        Quantity(size.to_owned()),
                    )])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A volume backed by a claim.
pub(crate) fn claim_volume(name: &str, claim: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        persistent_volume_claim: Some(
            k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                claim_name: claim.to_owned(),
                ..Default::default()
            },
        ),
        ..Default::default()
    }
}
