//! The configuration reference derived from the code: every key of [`FileConfig`] with its type,
//! default and environment variable. `docs/configuration.md` is checked against it by a test,
//! so the document cannot drift from the code.

use serde_json::Value;

use crate::config::FileConfig;

/// One documented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    pub key: String,
    pub kind: &'static str,
    pub default: String,
    pub env: String,
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "optional",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn render(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

/// `auth.oidc.issuer` → `NMP_AUTH_OIDC__ISSUER`.
pub fn env_var(key: &str) -> String {
    let mut parts = key.split('.');
    let section = parts.next().unwrap_or_default().to_uppercase();
    let rest: Vec<String> = parts.map(str::to_uppercase).collect();
    format!("NMP_{section}_{}", rest.join("__"))
}

/// Every key with its default, in file order. Nested sections are expanded; lists are leaves.
pub fn key_rows() -> Vec<KeyRow> {
    let value = serde_json::to_value(FileConfig::default()).unwrap_or(Value::Null);
    let mut rows = Vec::new();
    walk("", &value, &mut rows);
    rows
}

fn walk(prefix: &str, value: &Value, rows: &mut Vec<KeyRow>) {
    match value {
        Value::Object(map) if prefix.is_empty() || !map.is_empty() => {
            for (key, inner) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                walk(&path, inner, rows);
            }
        }
        leaf => rows.push(KeyRow {
            key: prefix.to_string(),
            kind: kind_of(leaf),
            default: render(leaf),
            env: env_var(prefix),
        }),
    }
}

/// The table rows as they appear in the document (without the meaning column).
pub fn row_prefix(row: &KeyRow) -> String {
    format!("| `{}` | {} | `{}` | `{}` |", row.key, row.kind, row.default, row.env)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = include_str!("../../../docs/configuration.md");

    #[test]
    fn env_var_rule() {
        assert_eq!(env_var("auth.enabled"), "NMP_AUTH_ENABLED");
        assert_eq!(env_var("auth.oidc.issuer"), "NMP_AUTH_OIDC__ISSUER");
        assert_eq!(env_var("auth.decision_log.denials"), "NMP_AUTH_DECISION_LOG__DENIALS");
    }

    #[test]
    fn configuration_doc_lists_every_key_with_its_default_and_env_var() {
        let documented: Vec<&str> = DOC.lines().filter(|l| l.starts_with("| `")).collect();
        let expected: Vec<String> = key_rows().iter().map(row_prefix).collect();
        let mut problems = Vec::new();
        for row in &expected {
            if !documented.iter().any(|line| line.starts_with(row.as_str())) {
                problems.push(format!("missing or changed: {row}"));
            }
        }
        for line in &documented {
            if !expected.iter().any(|row| line.starts_with(row.as_str())) {
                problems.push(format!("documented but not in the code: {line}"));
            }
        }
        assert!(
            problems.is_empty(),
            "docs/configuration.md is out of date:\n{}\n\nExpected rows (add a meaning column):\n{}",
            problems.join("\n"),
            expected.join("\n")
        );
    }

    #[test]
    // figment's `Jail` API makes the closure return `figment::Error` by value; not ours to box.
    #[allow(clippy::result_large_err)]
    fn every_documented_env_var_really_overrides_its_key() {
        // The rule is implemented by figment; prove it for a nested key of each section.
        figment::Jail::expect_with(|jail| {
            jail.set_env("NMP_AUTH_OIDC__LEEWAY_SECONDS", "17");
            jail.set_env("NMP_SERVER_MAX_BODY_BYTES", "4096");
            jail.set_env("NMP_STORE_DATA_DIR", "/tmp/nmp-doc-test");
            let config = FileConfig::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.auth.oidc.leeway_seconds, 17);
            assert_eq!(config.server.max_body_bytes, 4096);
            assert_eq!(config.store.data_dir.as_deref(), Some(std::path::Path::new("/tmp/nmp-doc-test")));
            Ok(())
        });
    }
}
