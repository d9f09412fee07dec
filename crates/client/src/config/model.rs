//! Serde model of the CLI config: `current_context`, `clusters`, `users`, `contexts`, `telemetry_enabled`.

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Mapping;

use crate::secret::Secret;

pub const USER_TYPE_OAUTH: &str = "oauth";
pub const USER_TYPE_NO_AUTH: &str = "no-auth";

/// The whole file. Field order is the order the official CLI writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CliConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub contexts: Vec<Context>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_enabled: Option<bool>,
    /// Keys we do not know (e.g. `local_services`), written back unchanged.
    #[serde(flatten)]
    pub extra: Mapping,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub name: String,
    pub base_url: String,
    #[serde(default)]
    pub metadata: Mapping,
    #[serde(flatten)]
    pub extra: Mapping,
}

/// `{type: oauth, name, token, refresh_token?}` or `{type: no-auth, name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(flatten)]
    pub extra: Mapping,
}

impl User {
    pub fn no_auth(name: impl Into<String>) -> Self {
        User {
            kind: USER_TYPE_NO_AUTH.to_string(),
            name: name.into(),
            token: None,
            refresh_token: None,
            extra: Mapping::new(),
        }
    }

    pub fn is_oauth(&self) -> bool {
        self.kind == USER_TYPE_OAUTH
    }

    /// The bearer token to send, if this user has one.
    pub fn bearer(&self) -> Option<&Secret> {
        self.token.as_ref().filter(|token| !token.is_empty())
    }

    /// Store a token pair; an absent new refresh token keeps the old one (RFC 6749 §6).
    pub fn set_tokens(&mut self, access: Secret, refresh: Option<Secret>) {
        self.kind = USER_TYPE_OAUTH.to_string();
        self.token = Some(access);
        if refresh.is_some() {
            self.refresh_token = refresh;
        }
    }

    /// Forget every credential (logout): the user becomes `{type: no-auth, name}`.
    pub fn clear(&mut self) {
        self.kind = USER_TYPE_NO_AUTH.to_string();
        self.token = None;
        self.refresh_token = None;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Preferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color_output: Option<bool>,
    #[serde(flatten)]
    pub extra: Mapping,
}

impl Preferences {
    /// What the official CLI writes for a new context.
    pub fn official_defaults() -> Self {
        Preferences {
            output_format: Some("table".into()),
            timestamp_format: Some("iso8601".into()),
            truncate: Some(true),
            color_output: Some(true),
            extra: Mapping::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    pub name: String,
    pub cluster: String,
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    #[serde(default)]
    pub preferences: Preferences,
    #[serde(default)]
    pub metadata: Mapping,
    #[serde(flatten)]
    pub extra: Mapping,
}

/// Add a trailing `/`, as the official CLI stores base URLs.
pub fn normalize_base_url(base_url: &str) -> String {
    let trimmed = base_url.trim();
    if trimmed.ends_with('/') {
        trimmed.to_string()
    } else {
        format!("{trimmed}/")
    }
}

impl CliConfig {
    pub fn context(&self, name: &str) -> Option<&Context> {
        self.contexts.iter().find(|context| context.name == name)
    }

    pub fn context_mut(&mut self, name: &str) -> Option<&mut Context> {
        self.contexts.iter_mut().find(|context| context.name == name)
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|cluster| cluster.name == name)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|user| user.name == name)
    }

    pub fn user_mut(&mut self, name: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|user| user.name == name)
    }

    /// The cluster of a context.
    pub fn cluster_of(&self, context: &str) -> Option<&Cluster> {
        self.context(context).and_then(|context| self.cluster(&context.cluster))
    }

    /// The user of a context.
    pub fn user_of(&self, context: &str) -> Option<&User> {
        self.context(context).and_then(|context| self.user(&context.user))
    }

    pub fn user_of_mut(&mut self, context: &str) -> Option<&mut User> {
        let user_name = self.context(context)?.user.clone();
        self.user_mut(&user_name)
    }

    /// Make sure context `name` exists, creating `name-cluster` and `name-user` the way
    /// the official CLI does, and return it. Existing entries keep all their fields.
    pub fn ensure_context(&mut self, name: &str) -> &mut Context {
        if self.context(name).is_none() {
            let cluster = format!("{name}-cluster");
            let user = format!("{name}-user");
            if self.cluster(&cluster).is_none() {
                self.clusters.push(Cluster {
                    name: cluster.clone(),
                    base_url: String::new(),
                    ..Cluster::default()
                });
            }
            if self.user(&user).is_none() {
                self.users.push(User::no_auth(user.clone()));
            }
            self.contexts.push(Context {
                name: name.to_string(),
                cluster,
                user,
                workspace: Some("default".into()),
                preferences: Preferences::official_defaults(),
                ..Context::default()
            });
        }
        let position = self.contexts.iter().position(|context| context.name == name).unwrap_or_default();
        &mut self.contexts[position]
    }

    /// Point context `name`'s cluster at `base_url` (stored with a trailing slash).
    pub fn set_base_url(&mut self, context: &str, base_url: &str) {
        let cluster_name = self.ensure_context(context).cluster.clone();
        let normalized = normalize_base_url(base_url);
        match self.clusters.iter_mut().find(|c| c.name == cluster_name) {
            Some(cluster) => cluster.base_url = normalized,
            None => {
                self.clusters.push(Cluster { name: cluster_name, base_url: normalized, ..Cluster::default() })
            }
        }
    }

    /// The user entry of context `name`, created (no-auth) if missing.
    pub fn ensure_user(&mut self, context: &str) -> &mut User {
        let user_name = self.ensure_context(context).user.clone();
        if self.user(&user_name).is_none() {
            self.users.push(User::no_auth(user_name.clone()));
        }
        let position = self.users.iter().position(|user| user.name == user_name).unwrap_or_default();
        &mut self.users[position]
    }
}
