//! Wire types of the Scoped Access Key API (`/apis/auth/v2/access-keys`), field order as the
//! reference emits them. Timestamps are whole-second UTC with a trailing `Z`.

use serde::{Deserialize, Serialize};

/// Body of `POST /apis/auth/v2/access-keys` as our clients send it. Every field is optional;
/// the server reads the body itself (an omitted `expires_in_seconds` means the configured
/// default, an explicit `null` asks for a key that never expires).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessKeyCreateRequest {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Absent: the server's default. `Some(None)`: sent as `null` (no expiry).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub expires_in_seconds: Option<Option<u64>>,
    pub service_account_id: Option<String>,
}

/// A key's metadata, as listed (never the key itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyMetadataResponse {
    pub jti: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub principal: String,
    /// `USER` or `SERVICE_ACCOUNT`.
    pub entity_type: String,
    /// `ACTIVE`, `SUSPENDED`, `REVOKED` or `EXPIRED`.
    pub status: String,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
}

/// Answer of create: the metadata plus the key, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyCreateResponse {
    pub jti: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub principal: String,
    pub entity_type: String,
    pub status: String,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub token: String,
    pub token_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyListResponse {
    pub data: Vec<AccessKeyMetadataResponse>,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyRevokeResponse {
    pub jti: String,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeyStatusChangeResponse {
    pub jti: String,
    pub status: String,
    pub changed: bool,
}

/// The "feature off" answer: `{"detail": ..., "code": "access_keys_disabled"}` (404).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessKeysDisabled {
    pub detail: String,
    pub code: String,
}

/// `detail` of the "feature off" answer.
pub const ACCESS_KEYS_DISABLED_DETAIL: &str = "Scoped Access Keys are not enabled";
/// `code` of the "feature off" answer.
pub const ACCESS_KEYS_DISABLED_CODE: &str = "access_keys_disabled";

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Option<u64>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<u64>>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(Some)
    }
}
