//! Shared test support: the shipped policy, principals from fixture shapes, and the shipped Rego
//! evaluated with regorus against `bundle_data`, asked the same questions as the native PDP.

use std::sync::OnceLock;

use nmp_core::policy::{allow_input, bundle_data, identity_input, rego_sources, BindingIndex, PolicyData};
use nmp_core::Principal;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn policy() -> &'static PolicyData {
    static POLICY: OnceLock<PolicyData> = OnceLock::new();
    POLICY.get_or_init(|| PolicyData::builtin().expect("shipped policy loads"))
}

/// A principal as fixtures write it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub on_behalf_of: Option<Box<PrincipalSpec>>,
}

impl PrincipalSpec {
    pub fn build(&self, scopes: Option<&[String]>) -> Principal {
        Principal {
            id: self.id.clone().into(),
            email: self.email.clone(),
            groups: self.groups.clone(),
            scopes: scopes.map(<[String]>::to_vec),
            on_behalf_of: self.on_behalf_of.as_ref().map(|p| Box::new(p.build(None))),
        }
    }
}

/// The shipped Rego, loaded once; `world` adds one binding set's data.
pub struct Rego {
    base: regorus::Engine,
}

impl Rego {
    pub fn new() -> Self {
        let mut base = regorus::Engine::new();
        for (name, source) in rego_sources() {
            base.add_policy(name.to_string(), source.to_string())
                .unwrap_or_else(|e| panic!("{name} parses: {e}"));
        }
        Rego { base }
    }

    /// An engine holding the bundle data for `index`.
    pub fn world(&self, policy: &PolicyData, index: &BindingIndex) -> RegoWorld {
        let mut engine = self.base.clone();
        engine.add_data(regorus::Value::from(bundle_data(policy, index))).expect("bundle data loads");
        RegoWorld { engine }
    }
}

pub struct RegoWorld {
    engine: regorus::Engine,
}

impl RegoWorld {
    fn eval(&mut self, rule: &str, input: Value) -> Value {
        self.engine.set_input(regorus::Value::from(input.clone()));
        let result = self
            .engine
            .eval_rule(format!("data.authz.{rule}"))
            .unwrap_or_else(|e| panic!("data.authz.{rule} evaluates for {input}: {e}"));
        serde_json::from_str(&result.to_json_str().expect("result serialises")).expect("json")
    }

    /// `allow` → `allowed`, checking the header mirrors it.
    pub fn allow(&mut self, principal: Option<&Principal>, method: &str, path: &str) -> bool {
        let result = self.eval("allow", allow_input(principal, method, path));
        let allowed = result["allowed"].as_bool().expect("allowed is a bool");
        let header = result["headers"]["X-NMP-Authorized"].as_str().expect("header is a string");
        assert_eq!(header, if allowed { "true" } else { "false" }, "{result}");
        allowed
    }

    pub fn has_permissions(
        &mut self,
        principal: Option<&Principal>,
        workspace: &str,
        permissions: &[&str],
    ) -> bool {
        let mut input = identity_input(principal);
        input.insert("workspace".into(), json!(workspace));
        input.insert("permissions".into(), json!(permissions));
        let result = self.eval("has_permissions", Value::Object(input));
        result["allowed"].as_bool().expect("allowed is a bool")
    }

    pub fn has_role(&mut self, principal: Option<&Principal>, workspace: &str, role: &str) -> bool {
        let mut input = identity_input(principal);
        input.insert("workspace".into(), json!(workspace));
        input.insert("role".into(), json!(role));
        let result = self.eval("has_role", Value::Object(input));
        result["has_role"].as_bool().expect("has_role is a bool")
    }
}
