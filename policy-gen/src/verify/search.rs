//! Finding one allowed flow between two namespaces without trying every pair of pods.

use crate::cluster::{Cluster, Endpoint, PodId};
use crate::evaluate::{Direction, Evaluator};
use crate::policy::Proto;

/// A flow found: source, destination, port, protocol.
pub(super) type Found = (PodId, PodId, u16, Proto);

/// What decides flows: one evaluator, or several worlds at once.
pub(super) trait Judge {
    fn cluster(&self) -> &Cluster;
    /// See [`Evaluator::may_allow_namespace`].
    fn may_allow_namespace(&self, pod: PodId, direction: Direction, other: &str) -> bool;
    fn allows(&self, src: PodId, dst: PodId, port: u16, proto: Proto) -> bool;
}

impl Judge for Evaluator<'_> {
    fn cluster(&self) -> &Cluster {
        Evaluator::cluster(self)
    }

    fn may_allow_namespace(&self, pod: PodId, direction: Direction, other: &str) -> bool {
        Evaluator::may_allow_namespace(self, pod, direction, other)
    }

    fn allows(&self, src: PodId, dst: PodId, port: u16, proto: Proto) -> bool {
        Evaluator::allows(self, Endpoint::Pod(src), Endpoint::Pod(dst), port, proto)
    }
}

/// Flows that each side lets through in at least one of the worlds: with the tenants'
/// NetworkPolicies deleted (first: it usually answers at once), and with the actual policies. Each side depends only on the policies of its
/// own namespace, so this is every flow some choice of deleting tenants opens.
pub(super) struct AnyWorld<'e, 'a>(pub(super) [&'e Evaluator<'a>; 2]);

impl Judge for AnyWorld<'_, '_> {
    fn cluster(&self) -> &Cluster {
        self.0[0].cluster()
    }

    fn may_allow_namespace(&self, pod: PodId, direction: Direction, other: &str) -> bool {
        self.0
            .iter()
            .any(|e| e.may_allow_namespace(pod, direction, other))
    }

    fn allows(&self, src: PodId, dst: PodId, port: u16, proto: Proto) -> bool {
        let (src, dst) = (Endpoint::Pod(src), Endpoint::Pod(dst));
        [Direction::Egress, Direction::Ingress]
            .into_iter()
            .all(|direction| {
                self.0
                    .iter()
                    .any(|e| e.side_passes(direction, src, dst, port, proto))
            })
    }
}

/// The (port, protocol) pairs a pod serves; a pod that declares none is probed on TCP 80.
pub(super) fn probes(cluster: &Cluster, pod: PodId) -> Vec<(u16, Proto)> {
    let ports: Vec<(u16, Proto)> = cluster
        .pod(pod)
        .ports
        .iter()
        .map(|p| (p.port, p.proto))
        .collect();
    if ports.is_empty() {
        vec![(80, Proto::Tcp)]
    } else {
        ports
    }
}

/// The first allowed flow from a pod of `sources` (namespace `from`) to a pod of `targets`
/// (namespace `to`). Pods whose side rules out the whole other namespace are skipped before any
/// pair is tried: this keeps a cluster of thousands of isolated pods from costing a full
/// pairwise evaluation.
pub(super) fn first_allowed_flow(
    judge: &impl Judge,
    sources: &[PodId],
    targets: &[PodId],
    from: &str,
    to: &str,
) -> Option<Found> {
    let open_sources: Vec<PodId> = sources
        .iter()
        .copied()
        .filter(|p| judge.may_allow_namespace(*p, Direction::Egress, to))
        .collect();
    if open_sources.is_empty() {
        return None;
    }
    let open_targets: Vec<PodId> = targets
        .iter()
        .copied()
        .filter(|p| judge.may_allow_namespace(*p, Direction::Ingress, from))
        .collect();
    for &dst in &open_targets {
        for (port, proto) in probes(judge.cluster(), dst) {
            for &src in &open_sources {
                if src != dst && judge.allows(src, dst, port, proto) {
                    return Some((src, dst, port, proto));
                }
            }
        }
    }
    None
}
