//! The objects that keep a model's pods available: a HorizontalPodAutoscaler for a profile that
//! autoscales, a PodDisruptionBudget for more than one replica.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::profile::Autoscaling;

/// An `autoscaling/v2` autoscaler of the Deployment `metadata` names, on the profile's targets.
pub(crate) fn autoscaler(metadata: ObjectMeta, scaling: &Autoscaling) -> HorizontalPodAutoscaler {
    let target = metadata.name.clone().unwrap_or_default();
    let utilization = |resource: &str, percent: i32| MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: resource.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let metrics = [
        ("cpu", scaling.cpu_percent),
        ("memory", scaling.memory_percent),
    ]
    .into_iter()
    .filter_map(|(resource, percent)| Some(utilization(resource, percent?)))
    .collect();
    HorizontalPodAutoscaler {
        metadata,
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: target,
            },
            min_replicas: Some(scaling.min),
            max_replicas: scaling.max,
            metrics: Some(metrics),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A budget letting voluntary disruptions (node drains, upgrades) take one pod at a time from
/// the pods `selector` matches; only worth having with more than one replica.
pub(crate) fn disruption_budget(
    metadata: ObjectMeta,
    selector: BTreeMap<String, String>,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata,
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The fewest replicas a channel runs with: the autoscaler's minimum, or its fixed count.
pub(crate) fn least_replicas(replicas: i32, scaling: Option<&Autoscaling>) -> i32 {
    scaling.map_or(replicas, |s| s.min)
}
