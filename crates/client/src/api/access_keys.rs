//! `/apis/auth/v2/access-keys`: Scoped Access Keys of the caller (and, for a PlatformAdmin,
//! service-account keys). The same methods as the official SDK's `access_keys` resource.

use nmp_proto::access_keys::{
    AccessKeyCreateRequest, AccessKeyCreateResponse, AccessKeyListResponse, AccessKeyRevokeResponse,
    AccessKeyStatusChangeResponse,
};
use reqwest::Method;

use crate::client::{query_pairs, Client};
use crate::error::Result;

const BASE: [&str; 4] = ["apis", "auth", "v2", "access-keys"];

#[derive(Debug, Clone, Copy)]
pub struct AccessKeysApi<'a> {
    pub(crate) client: &'a Client,
}

impl AccessKeysApi<'_> {
    /// Create a key; the answer holds the key itself, shown only this once.
    pub async fn create(&self, request: &AccessKeyCreateRequest) -> Result<AccessKeyCreateResponse> {
        self.client.send(Method::POST, &BASE, &[], Some(request)).await
    }

    /// One page of keys, newest first (`page` from 1, `page_size` 1..100; server defaults when `None`).
    pub async fn list(&self, page: Option<u64>, page_size: Option<u64>) -> Result<AccessKeyListResponse> {
        let query = query_pairs(&[
            ("page", page.map(|page| page.to_string())),
            ("page_size", page_size.map(|size| size.to_string())),
        ]);
        self.client.send(Method::GET, &BASE, &query, None).await
    }

    /// Revoke (terminal). `revoked: false` when it already was.
    pub async fn delete(&self, jti: &str) -> Result<AccessKeyRevokeResponse> {
        self.client.send(Method::DELETE, &[BASE[0], BASE[1], BASE[2], BASE[3], jti], &[], None).await
    }

    pub async fn suspend(&self, jti: &str) -> Result<AccessKeyStatusChangeResponse> {
        self.client.send(Method::POST, &[BASE[0], BASE[1], BASE[2], BASE[3], jti, "suspend"], &[], None).await
    }

    pub async fn unsuspend(&self, jti: &str) -> Result<AccessKeyStatusChangeResponse> {
        self.client
            .send(Method::POST, &[BASE[0], BASE[1], BASE[2], BASE[3], jti, "unsuspend"], &[], None)
            .await
    }
}
