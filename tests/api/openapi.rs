//! The OpenAPI document: committed, complete, and served.

use serde_json::Value;

use crate::backend_tests;
use crate::support::TestApp;

fn generated() -> Value {
    serde_json::from_str(&broadsheet::http::api_spec().to_pretty_json().unwrap()).unwrap()
}

#[test]
fn committed_spec_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi/openapi.json exists"))
            .expect("openapi/openapi.json is JSON");
    assert!(
        committed == generated(),
        "openapi/openapi.json is out of date; regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_is_documented_and_secured_where_needed() {
    let spec = generated();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                id.chars().next().unwrap().is_ascii_lowercase() && !id.contains('_'),
                "camelCase: {id}"
            );
            assert!(operation_ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(op["summary"].is_string(), "{id} has no summary");
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{id} has no tag"
            );
            let secured = op.get("security").is_some();
            let editor_route = path.starts_with("/api/v1/admin") || path == "/api/v1/auth/me";
            assert_eq!(
                secured, editor_route,
                "{method} {path}: bearerAuth exactly on editor routes"
            );
            let responses = op["responses"].as_object().unwrap();
            if editor_route {
                assert!(responses.contains_key("401"), "{id} documents 401");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let reference = response["$ref"].as_str().unwrap_or_default();
                    assert!(
                        reference.starts_with("#/components/responses/"),
                        "{id} {status} uses a problem response"
                    );
                }
            }
        }
    }
    assert!(spec["components"]["securitySchemes"]["bearerAuth"].is_object());
}

async fn the_spec_is_served(app: TestApp) {
    let res = app.get("/api/v1/openapi.json").send().await;
    res.assert_status(200);
    assert_eq!(res.json(), generated());
    let docs = app.get("/docs/").send().await;
    docs.assert_status(200);
    assert!(docs.text().contains("swagger"), "the docs page loads Swagger UI");
    assert!(
        docs.header("content-security-policy")
            .unwrap()
            .contains("script-src 'self'")
    );
}

backend_tests!(the_spec_is_served);
