//! Custom resources the serving targets and tenant components emit, as typed values.
//!
//! Each kind models the fields this crate writes (not the whole CRD); the generated kinds serialize
//! with their `apiVersion` and `kind` and validate against the real CRD schemas (the tests check every
//! emitted object against the published openAPIV3Schema with unknown fields refused).
//!
//! Versions: Istio `networking.istio.io/v1` and `security.istio.io/v1` (GA since Istio 1.22; the
//! seed's `rbac.istio.io` kinds were removed in Istio 1.6), KServe `serving.kserve.io/v1beta1`,
//! Kubeflow `kubeflow.org/v1alpha1` PodDefault, Argo CD `argoproj.io/v1alpha1` Application,
//! network-policy-api `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy.

pub mod argocd;
pub mod istio;
pub mod kserve;
pub mod kubeflow;
pub mod network_policy_api;
