//! Real responses validated against the reference contract's JSON schemas
//! (`tests/reference/reference-api.openapi.yaml`, a copy of the reference's published document).
//!
//! The reference's Python models dropped `null` from optional fields when exported, while its
//! server answers `null` for them (e.g. `"description": null`). So optional properties, and the two
//! required-but-nullable ones the reference itself answers with `null` (`RoleBinding.revoked_at`,
//! `RoleBinding.workspace`), accept `null`; everything else is checked as written.

use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::support::TestServer;

fn reference_schemas() -> Value {
    let text = include_str!("../reference/reference-api.openapi.yaml");
    let doc: Value = serde_yaml_ng::from_str(text).expect("reference OpenAPI parses");
    let mut schemas = doc["components"]["schemas"].clone();
    for (name, schema) in schemas.as_object_mut().expect("schemas") {
        let required: Vec<String> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (property, definition) in properties.iter_mut() {
                let nullable_required =
                    name == "RoleBinding" && (property == "revoked_at" || property == "workspace");
                if !required.contains(property) || nullable_required {
                    *definition = json!({"anyOf": [definition.clone(), {"type": "null"}]});
                }
            }
        }
    }
    let text = serde_json::to_string(&schemas).unwrap().replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap()
}

fn check(defs: &Value, schema_name: &str, instance: &Value) {
    let mut root = Map::new();
    root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    root.insert("$defs".into(), defs.clone());
    root.insert("$ref".into(), json!(format!("#/$defs/{schema_name}")));
    let validator = jsonschema::validator_for(&Value::Object(root)).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path)).collect();
    assert!(errors.is_empty(), "{schema_name} does not match: {errors:?}\n{instance}");
}

#[tokio::test]
async fn responses_match_the_reference_schemas() {
    let defs = reference_schemas();
    let server = TestServer::start("auth:\n  admin_email: admin@example.com\n").await;
    let (status, workspace) = server.post("/apis/entities/v2/workspaces", json!({"name": "ws1"})).await;
    assert_eq!(status, StatusCode::CREATED);
    check(&defs, "Workspace", &workspace);
    check(&defs, "WorkspacesPage", &server.get("/apis/entities/v2/workspaces?filter=name~%22w%22").await.1);
    check(
        &defs,
        "Workspace",
        &server.put("/apis/entities/v2/workspaces/ws1", json!({"description": "d"})).await.1,
    );
    let (_, member) = server
        .post(
            "/apis/entities/v2/workspaces/ws1/members",
            json!({"principal": "bob@example.com", "roles": ["Viewer"]}),
        )
        .await;
    check(&defs, "WorkspaceMember", &member);
    check(
        &defs,
        "WorkspaceMemberListResponse",
        &server.get("/apis/entities/v2/workspaces/ws1/members").await.1,
    );
    check(
        &defs,
        "WorkspaceMember",
        &server
            .put("/apis/entities/v2/workspaces/ws1/members/bob@example.com", json!({"roles": ["Editor"]}))
            .await
            .1,
    );
    check(
        &defs,
        "DeleteResponse",
        &server.delete("/apis/entities/v2/workspaces/ws1/members/bob@example.com").await.1,
    );
    let (_, project) = server.post("/apis/entities/v2/workspaces/ws1/projects", json!({"name": "p1"})).await;
    check(&defs, "Project", &project);
    check(&defs, "ProjectsPage", &server.get("/apis/entities/v2/workspaces/ws1/projects").await.1);
    check(&defs, "DeleteResponse", &server.delete("/apis/entities/v2/workspaces/ws1/projects/p1").await.1);
    let (_, binding) = server
        .post(
            "/apis/auth/v2/iam/role-bindings",
            json!({"principal": "carol", "workspace": "ws1", "role": "Viewer"}),
        )
        .await;
    check(&defs, "RoleBinding", &binding);
    check(&defs, "RoleBindingsPage", &server.get("/apis/auth/v2/iam/role-bindings").await.1);
    let name = binding["name"].as_str().unwrap();
    check(
        &defs,
        "DeleteResponse",
        &server.delete(&format!("/apis/auth/v2/iam/role-bindings/{name}")).await.1,
    );
    check(&defs, "AuthDiscoveryResponse", &server.get("/apis/auth/discovery").await.1);
    check(
        &defs,
        "HTTPValidationError",
        &server.post("/apis/entities/v2/workspaces", json!({"name": "Bad!"})).await.1,
    );
    check(&defs, "DeleteResponse", &server.delete("/apis/entities/v2/workspaces/ws1").await.1);
}

#[test]
fn the_schema_check_can_fail() {
    let defs = reference_schemas();
    let result = std::panic::catch_unwind(|| {
        check(&defs, "Workspace", &json!({"id": "x", "name": "y", "unexpected": 1}))
    });
    assert!(result.is_err(), "a response with a missing field and an extra one must be refused");
}
