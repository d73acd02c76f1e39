//! The images this repository builds (`images/`, `scripts/build-images.sh`): every default image
//! a generated manifest references is one of them, under a configurable registry prefix.
//!
//! ```
//! use manifests_core::images::{self, Image};
//! assert_eq!(
//!     Image::Serving.reference(images::DEFAULT_PREFIX),
//!     format!("localhost/mlflow-gitops/serving:{}", images::TAG)
//! );
//! // A platform that pushed them to its registry names that registry.
//! assert_eq!(
//!     images::with_prefix(&Image::Serving.default_reference(), "registry.example.com/ml"),
//!     format!("registry.example.com/ml/serving:{}", images::TAG)
//! );
//! ```

/// Where `scripts/build-images.sh` puts the images unless told otherwise.
pub const DEFAULT_PREFIX: &str = "localhost/mlflow-gitops";

/// The images' tag: the workspace version that built them.
pub const TAG: &str = env!("CARGO_PKG_VERSION");

/// The exact Python package list of the serving image (`images/serving/requirements.txt`), what
/// the model environment check compares models with.
pub const SERVING_PACKAGES: &str = include_str!("../../images/serving/requirements.txt");

/// The exact Python package list of the MLServer runtime image
/// (`images/mlserver/requirements.txt`), what the environment check compares models served by
/// KServe with.
pub const MLSERVER_PACKAGES: &str = include_str!("../../images/mlserver/requirements.txt");

/// One of the images this repository builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Image {
    /// The promotion daemon (`images/daemon`).
    Daemon,
    /// `mlflow models serve` with MLflow, boto3 and scikit-learn (`images/serving`).
    Serving,
    /// The team's MLflow server (`images/mlflow-server`).
    MlflowServer,
    /// The team's S3 object store, SeaweedFS (`images/object-store`).
    ObjectStore,
    /// MLServer with its MLflow runtime (`images/mlserver`): the image a platform sets on KServe's
    /// `kserve-mlserver` ClusterServingRuntime. Cluster configuration, so no generated manifest
    /// names it.
    Mlserver,
    /// KServe's storage initializer (`images/storage-initializer`), the image KServe's
    /// `inferenceservice-config` names for the init container that downloads `storageUri`.
    StorageInitializer,
}

impl Image {
    /// Every image, in build order.
    pub const ALL: [Image; 6] = [
        Image::Daemon,
        Image::Serving,
        Image::MlflowServer,
        Image::ObjectStore,
        Image::Mlserver,
        Image::StorageInitializer,
    ];

    /// The image's name under the prefix.
    pub fn name(self) -> &'static str {
        match self {
            Image::Daemon => "mlflow-gitops",
            Image::Serving => "serving",
            Image::MlflowServer => "mlflow-server",
            Image::ObjectStore => "object-store",
            Image::Mlserver => "mlserver",
            Image::StorageInitializer => "storage-initializer",
        }
    }

    /// `<prefix>/<name>:<TAG>`.
    pub fn reference(self, prefix: &str) -> String {
        format!("{}/{}:{TAG}", prefix.trim_end_matches('/'), self.name())
    }

    /// Whether `image` is this image, at this tag, under any registry prefix.
    pub fn is(self, image: &str) -> bool {
        image
            .rsplit_once('/')
            .is_some_and(|(_, last)| last == format!("{}:{TAG}", self.name()))
    }

    /// The reference under [`DEFAULT_PREFIX`].
    pub fn default_reference(self) -> String {
        self.reference(DEFAULT_PREFIX)
    }
}

/// `image` under `prefix` when it is one of ours under the default prefix; any other image (one
/// a platform chose itself) unchanged.
pub fn with_prefix(image: &str, prefix: &str) -> String {
    match image
        .strip_prefix(DEFAULT_PREFIX)
        .and_then(|rest| rest.strip_prefix('/'))
    {
        Some(rest)
            if Image::ALL
                .iter()
                .any(|i| rest == format!("{}:{TAG}", i.name())) =>
        {
            format!("{}/{rest}", prefix.trim_end_matches('/'))
        }
        _ => image.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_default_images_move_to_another_prefix() {
        let ours = Image::Daemon.default_reference();
        assert_eq!(
            with_prefix(&ours, "registry.example.com/ml/"),
            format!("registry.example.com/ml/mlflow-gitops:{TAG}")
        );
        for theirs in [
            "registry.example.com/serving/sklearn:1.9",
            "localhost/mlflow-gitops/serving:0.0.1-theirs",
            "localhost/mlflow-gitops-fork/serving:0.1.0",
        ] {
            assert_eq!(with_prefix(theirs, "elsewhere"), theirs);
        }
    }

    #[test]
    fn the_model_server_package_lists_are_pinned_locks() {
        let pins = |list: &'static str| -> Vec<&'static str> {
            list.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .collect()
        };
        for (list, wanted) in [
            (
                SERVING_PACKAGES,
                &["mlflow==", "boto3==", "scikit-learn=="][..],
            ),
            (
                MLSERVER_PACKAGES,
                &["mlserver==", "mlserver-mlflow==", "mlflow=="][..],
            ),
        ] {
            let pins = pins(list);
            assert!(pins.iter().all(|l| l.contains("==")), "{pins:?}");
            for wanted in wanted {
                assert!(
                    pins.iter().any(|l| l.starts_with(wanted)),
                    "{wanted} not pinned"
                );
            }
        }
        // The two model servers load the same models: their MLflow and flavor libraries agree.
        for package in ["mlflow==", "scikit-learn==", "skops==", "pandas=="] {
            let line = |list| pins(list).into_iter().find(|l| l.starts_with(package));
            assert_eq!(line(SERVING_PACKAGES), line(MLSERVER_PACKAGES), "{package}");
        }
    }
}
