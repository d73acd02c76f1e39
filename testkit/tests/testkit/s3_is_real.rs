//! SeaweedFS is a real S3 server: an independent client (object_store) round-trips objects that
//! rclone then sees, and a wrong secret key is rejected by signature checking.

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use testkit::s3::{Bucket, ListedObject, SeaweedFs};

fn store(bucket: &Bucket<'_>, secret: &str) -> impl ObjectStore {
    let server = bucket.server();
    AmazonS3Builder::new()
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(bucket.name())
        .with_access_key_id(&server.credentials().access_key_id)
        .with_secret_access_key(secret)
        .build()
        .expect("S3 store")
}

#[tokio::test]
async fn put_get_list_round_trip() {
    let bucket = SeaweedFs::shared().bucket();
    let s3 = store(&bucket, &bucket.server().credentials().secret_access_key);

    s3.put(
        &Path::from("model/MLmodel"),
        PutPayload::from_static(b"flavors: {}\n"),
    )
    .await
    .expect("put MLmodel");
    s3.put(
        &Path::from("model/sub/weights.bin"),
        PutPayload::from(vec![7u8; 70_000]),
    )
    .await
    .expect("put weights");

    let got = s3
        .get(&Path::from("model/MLmodel"))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(&got[..], b"flavors: {}\n");

    let mut listed: Vec<(String, u64)> = s3
        .list(Some(&Path::from("model")))
        .map_ok(|meta| (meta.location.to_string(), meta.size))
        .try_collect()
        .await
        .expect("list");
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("model/MLmodel".to_owned(), 12),
            ("model/sub/weights.bin".to_owned(), 70_000)
        ]
    );

    // The same objects through an independent client.
    assert_eq!(
        bucket.list("model"),
        vec![
            ListedObject {
                path: "MLmodel".into(),
                size: 12
            },
            ListedObject {
                path: "sub/weights.bin".into(),
                size: 70_000
            },
        ]
    );
    assert_eq!(
        bucket.get("model/MLmodel").as_deref(),
        Some(&b"flavors: {}\n"[..])
    );
    assert_eq!(bucket.get("model/absent"), None);
}

#[tokio::test]
async fn wrong_secret_is_rejected() {
    let bucket = SeaweedFs::shared().bucket();
    bucket.put("present", b"x");
    let s3 = store(&bucket, "not-the-secret");

    let err = s3
        .put(&Path::from("denied"), PutPayload::from_static(b"x"))
        .await
        .expect_err("a wrong secret must be rejected");
    assert!(
        err.to_string().contains("SignatureDoesNotMatch") || err.to_string().contains("403"),
        "unexpected error: {err}"
    );
    let err = s3
        .get(&Path::from("present"))
        .await
        .expect_err("read with a wrong secret");
    assert!(
        err.to_string().contains("403") || err.to_string().contains("ermission"),
        "{err}"
    );
    assert_eq!(
        bucket.list(""),
        vec![ListedObject {
            path: "present".into(),
            size: 1
        }]
    );
}

#[test]
fn buckets_are_isolated() {
    let server = SeaweedFs::shared();
    let (a, b) = (server.bucket(), server.bucket());
    assert_ne!(a.name(), b.name());
    a.put("only-in-a", b"1");
    assert_eq!(b.list(""), vec![]);
    assert_eq!(a.list("").len(), 1);
}
