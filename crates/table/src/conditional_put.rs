//! Whether a table's store creates an object only if it is absent. Every Delta commit relies
//! on it: a commit is a create of the next `_delta_log/NNNNNNNNNNNNNNNNNNNN.json`, and of two
//! writers that try the same version the store must refuse the second. A store that ignores
//! the condition (an S3-compatible server that drops `If-None-Match: *`) lets one writer's
//! commit silently replace another's, so Heatlake checks before it writes.

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::{Error, Result, TableLocation, object_store};

/// Where the probe objects go, under the table's root. Delta readers skip names that start
/// with `_`.
const PROBE_DIR: &str = "_heatlake/conditional-put-probe";

/// What a store does with a create of an object that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalPut {
    /// It refuses it: commits of several writers cannot replace each other.
    Honoured,
    /// It replaces the object: two writers can replace each other's commits.
    Ignored,
}

/// Creates one probe object twice under the table's root, with the create-if-absent put a
/// commit uses, and deletes it: three requests.
pub async fn probe_conditional_put(location: &TableLocation) -> Result<ConditionalPut> {
    let store = object_store(location)?;
    let path = Path::from(format!("{PROBE_DIR}/{}", uuid::Uuid::new_v4().simple()));
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let probe_error = |source| Error::store(location, source);
    store
        .put_opts(&path, PutPayload::from_static(b"first"), create.clone())
        .await
        .map_err(probe_error)?;
    let second = store
        .put_opts(&path, PutPayload::from_static(b"second"), create)
        .await;
    // A probe left behind by a failed delete is harmless: nothing reads the directory.
    let _ = store.delete(&path).await;
    match second {
        Err(object_store::Error::AlreadyExists { .. }) => Ok(ConditionalPut::Honoured),
        Ok(_) => Ok(ConditionalPut::Ignored),
        Err(source) => Err(probe_error(source)),
    }
}

/// [`probe_conditional_put`], with a store that ignores the condition as the error
/// [`Error::ConditionalPutIgnored`].
pub async fn ensure_conditional_put(location: &TableLocation) -> Result<()> {
    match probe_conditional_put(location).await? {
        ConditionalPut::Honoured => Ok(()),
        ConditionalPut::Ignored => Err(Error::ConditionalPutIgnored {
            location: location.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_file_system_refuses_to_create_an_object_twice() {
        let dir = tempfile::tempdir().unwrap();
        let location = TableLocation::parse(dir.path().join("events").to_str().unwrap()).unwrap();
        assert_eq!(
            probe_conditional_put(&location).await.unwrap(),
            ConditionalPut::Honoured
        );
        // The probe leaves no file behind.
        let probes = dir.path().join("events").join(PROBE_DIR);
        assert_eq!(std::fs::read_dir(probes).unwrap().count(), 0);
    }
}
