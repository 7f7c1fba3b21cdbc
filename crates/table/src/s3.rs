//! `s3://` tables through `object_store`'s Amazon S3 client.
//!
//! Delta Lake's own S3 support brings the whole AWS SDK (and DynamoDB locking) into the build;
//! Heatlake needs none of it: `object_store` reads the standard AWS environment variables and
//! commits with conditional puts, which S3 and S3-compatible stores honour.

use std::sync::{Arc, Once};

use deltalake::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake::{DeltaResult, DeltaTableError, Path};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use url::Url;

/// Builds S3 clients from the environment plus any options given with the location.
struct S3StoreFactory;

impl ObjectStoreFactory for S3StoreFactory {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, Path)> {
        let mut builder = AmazonS3Builder::from_env().with_url(url.as_str());
        for (key, value) in &config.raw {
            if let Ok(key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        let store = builder.build().map_err(DeltaTableError::from)?;
        let path = Path::from_url_path(url.path())
            .map_err(|error| DeltaTableError::InvalidTableLocation(format!("{url}: {error}")))?;
        Ok((Arc::new(store), path))
    }
}

/// The default log store: commits are conditional puts of the next log entry.
struct S3LogStoreFactory;

impl LogStoreFactory for S3LogStoreFactory {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

/// Registers the `s3://` and `s3a://` schemes once per process.
pub(crate) fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        for scheme in ["s3://", "s3a://"] {
            let url = Url::parse(scheme).expect("a scheme alone is a valid URL");
            object_store_factories().insert(url.clone(), Arc::new(S3StoreFactory));
            logstore_factories().insert(url, Arc::new(S3LogStoreFactory));
        }
    });
}
