//! The three names an access rule is made of: who ([`PrincipalId`]), where ([`WorkspaceName`])
//! and what ([`RoleName`]). Each is its own type where it crosses a crate boundary (the store's
//! records and change requests, the policy's bindings, the principal), so a workspace cannot be
//! passed where a principal is expected: `grant(workspace, principal, role)` does not compile.
//!
//! They are plain strings underneath and read as `&str` (`Deref`), so reading code stays as it
//! was; making one is explicit (`PrincipalId::from(..)`, `.into()`). They do not validate: a
//! binding's principal may be an id, an email, a group or `*`, and a stored name was validated
//! when it was created. Validation of names users choose lives in [`crate::names`] and at the
//! HTTP edge.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_string())
            }
        }

        impl From<&String> for $name {
            fn from(value: &String) -> Self {
                $name(value.clone())
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                String::column_result(value).map($name)
            }
        }

        #[cfg(feature = "postgres")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres_types::Type,
                out: &mut postgres_types::private::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                <String as postgres_types::ToSql>::accepts(ty)
            }

            postgres_types::to_sql_checked!();
        }

        #[cfg(feature = "postgres")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                String::from_sql(ty, raw).map($name)
            }

            fn accepts(ty: &postgres_types::Type) -> bool {
                <String as postgres_types::FromSql>::accepts(ty)
            }
        }
    };
}

name_type! {
    /// A principal as access rules name it: a token subject, or, in a role binding, an email, a
    /// group name or `*` (every authenticated principal).
    PrincipalId
}

name_type! {
    /// A workspace's name (`*` in a binding that applies to every workspace).
    WorkspaceName
}

name_type! {
    /// A role's name (`Viewer`, `Admin`, `PlatformAdmin`, or one an operator defines).
    RoleName
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_the_string_it_holds() {
        let workspace = WorkspaceName::from("ml-team");
        assert_eq!(workspace, "ml-team");
        assert_eq!(&*workspace, "ml-team");
        assert_eq!(workspace.to_string(), "ml-team");
        assert_eq!(format!("{workspace:?}"), "\"ml-team\"");
        assert_eq!(workspace.len(), 7);
        assert_eq!(String::from(workspace), "ml-team");
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let role = RoleName::from("Editor");
        assert_eq!(serde_json::to_string(&role).ok().as_deref(), Some("\"Editor\""));
        let back: Result<RoleName, _> = serde_json::from_str("\"Viewer\"");
        assert_eq!(back.ok(), Some(RoleName::from("Viewer")));
    }

    #[test]
    fn looks_up_by_str_in_sets() {
        let set: std::collections::BTreeSet<PrincipalId> = ["bob@example.com".into()].into();
        assert!(set.contains("bob@example.com"));
        assert!(!set.contains("alice@example.com"));
    }
}
