//! Each replica's in-memory copy of the access-key registry: the status of every key, read on
//! every request that presents one, so checking a key costs no store round trip. It changes in
//! the same step as the store (`Access::commit_access_key`) and is reloaded with the role
//! bindings when another replica commits (`replication.rs`), so a revocation is refused on the
//! very next request on the replica that made it, and within the propagation delay elsewhere.

use std::collections::HashMap;

use nmp_store::{AccessKeyRecord, AccessKeyStatus};

/// What the registry needs of a key to decide whether it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyState {
    subject: String,
    status: AccessKeyStatus,
    /// `exp`, seconds since the epoch.
    expires_at: Option<i64>,
}

impl KeyState {
    /// The first instant (seconds) at which the key is refused as expired: `exp` plus the leeway,
    /// `i64::MAX` for a key that never expires.
    fn refused_from(&self) -> i64 {
        self.expires_at.map_or(i64::MAX, |exp| exp.saturating_add(nmp_authn::ACCESS_KEY_LEEWAY_SECONDS))
    }
}

/// The registry's verdict on a key whose signature already checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    Active,
    /// Revoked, suspended, expired (beyond the leeway), or issued to another subject.
    Refused,
    /// Not in this replica's copy: ask the store (created moments ago on another replica?).
    Unknown,
}

#[derive(Debug, Default)]
pub struct KeyRegistry {
    by_jti: HashMap<String, KeyState>,
}

impl KeyRegistry {
    pub fn from_records(records: &[AccessKeyRecord]) -> KeyRegistry {
        let mut registry = KeyRegistry::default();
        for record in records {
            registry.apply(record);
        }
        registry
    }

    /// Record a key's current state (after a local commit or a store lookup).
    pub fn apply(&mut self, record: &AccessKeyRecord) {
        self.by_jti.insert(
            record.jti.clone(),
            KeyState {
                subject: record.subject.clone(),
                status: record.status,
                expires_at: record.expires_at.map(|at| at.unix_timestamp()),
            },
        );
    }

    pub fn contains(&self, jti: &str) -> bool {
        self.by_jti.contains_key(jti)
    }

    /// The first instant (seconds) at which the key `jti` is refused as expired (its `exp` plus
    /// the leeway; `i64::MAX` for a key that never expires), if the registry knows it.
    pub fn refused_from(&self, jti: &str) -> Option<i64> {
        self.by_jti.get(jti).map(KeyState::refused_from)
    }

    /// May the key `jti`, presented with subject `subject`, be used at `now`?
    pub fn check(&self, jti: &str, subject: &str, now: i64) -> KeyCheck {
        let Some(state) = self.by_jti.get(jti) else { return KeyCheck::Unknown };
        if state.subject == subject && state.status == AccessKeyStatus::Active && now < state.refused_from() {
            KeyCheck::Active
        } else {
            KeyCheck::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmp_store::AccessKeyEntity;
    use time::OffsetDateTime;

    fn record(status: AccessKeyStatus, expires_at: Option<i64>) -> AccessKeyRecord {
        let at = |s: i64| OffsetDateTime::from_unix_timestamp(s).expect("valid");
        AccessKeyRecord {
            jti: "ak_00000000000000000000000000000001".into(),
            name: None,
            description: None,
            owner: "bob".into(),
            subject: "bob".into(),
            entity_type: AccessKeyEntity::User,
            issuer: "i".into(),
            audiences: vec![],
            issued_at: at(0),
            expires_at: expires_at.map(at),
            status,
            updated_at: at(0),
        }
    }

    #[test]
    fn only_an_active_unexpired_key_of_the_same_subject_passes() {
        let jti = "ak_00000000000000000000000000000001";
        let active = KeyRegistry::from_records(&[record(AccessKeyStatus::Active, Some(100))]);
        assert_eq!(active.check(jti, "bob", 50), KeyCheck::Active);
        assert_eq!(active.check(jti, "bob", 129), KeyCheck::Active, "30 s leeway");
        assert_eq!(active.check(jti, "bob", 130), KeyCheck::Refused);
        assert_eq!(active.check(jti, "carol", 50), KeyCheck::Refused);
        assert_eq!(active.check("ak_00000000000000000000000000000002", "bob", 50), KeyCheck::Unknown);
        for status in [AccessKeyStatus::Suspended, AccessKeyStatus::Revoked] {
            assert_eq!(
                KeyRegistry::from_records(&[record(status, None)]).check(jti, "bob", 50),
                KeyCheck::Refused
            );
        }
        let mut registry = KeyRegistry::from_records(&[record(AccessKeyStatus::Active, None)]);
        assert_eq!(registry.check(jti, "bob", i64::MAX - 1), KeyCheck::Active, "never expires");
        registry.apply(&record(AccessKeyStatus::Revoked, None));
        assert_eq!(registry.check(jti, "bob", 50), KeyCheck::Refused);
    }
}
