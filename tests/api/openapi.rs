//! The OpenAPI document: committed, complete, and served.
//!
//! Every check here walks the generated document, so a route added later
//! (comments, shares, …) is held to the same rules the day it is registered.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use broadsheet::http::scopes::{self, Access};

use crate::backend_tests;
use crate::support::TestApp;

/// Every rule broken, collected, so one run lists all that needs fixing.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn check(&mut self, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.0.push(message());
        }
    }

    fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}: {} problem(s) in the generated OpenAPI document:\n  - {}\n",
            self.0.len(),
            self.0.join("\n  - ")
        );
    }
}

fn generated() -> Value {
    serde_json::from_str(&broadsheet::http::api_spec().to_pretty_json().unwrap()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Query parameters that choose among fixed values must list them.
const ENUM_PARAMS: [&str; 5] = ["status", "channel", "sort", "group_by", "role"];

/// Operations answered from memory: no database, so no `503`.
const SERVED_WITHOUT_DATABASE: [&str; 3] = ["healthz", "getOpenApi", "getMetrics"];

struct Operation<'a> {
    path: &'a str,
    method: &'a str,
    op: &'a Value,
}

impl Operation<'_> {
    fn id(&self) -> &str {
        self.op["operationId"].as_str().unwrap_or("?")
    }

    fn name(&self) -> String {
        format!("{} {} ({})", self.method.to_uppercase(), self.path, self.id())
    }

    fn responses(&self) -> &serde_json::Map<String, Value> {
        self.op["responses"].as_object().expect("responses")
    }

    fn parameters(&self) -> Vec<&Value> {
        self.op["parameters"]
            .as_array()
            .map(|p| p.iter().collect())
            .unwrap_or_default()
    }

    fn parameters_in(&self, location: &str) -> Vec<&Value> {
        self.parameters()
            .into_iter()
            .filter(|p| p["in"] == location)
            .collect()
    }

    fn is_editor_route(&self) -> bool {
        self.path.starts_with("/api/v1/admin")
            || self.path == "/api/v1/auth/me"
            || self.path == "/api/v1/auth/password"
            || self.path.starts_with("/api/v1/auth/tokens")
    }
}

fn operations(spec: &Value) -> Vec<Operation<'_>> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            assert!(
                METHODS.contains(&method.as_str()),
                "unexpected key {method} under {path}"
            );
            ops.push(Operation { path, method, op });
        }
    }
    assert!(!ops.is_empty());
    ops
}

/// Follows `$ref`s (local ones only) to the object they name.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..10 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let pointer = reference
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("non-local $ref {reference}"));
                value = spec
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("unresolved $ref {reference}"));
            }
            None => return value,
        }
    }
    panic!("$ref chain too long at {value}");
}

/// An example of the schema, or, for a list envelope, of its items (Swagger
/// UI and the other tools compose the envelope from its parts).
fn has_example(spec: &Value, schema: &Value) -> bool {
    let schema = resolve(spec, schema);
    if schema.get("example").is_some() || schema["examples"].as_array().is_some_and(|e| !e.is_empty()) {
        return true;
    }
    is_list(spec, schema) && has_example(spec, &schema["properties"]["data"]["items"])
}

/// `{data: [...], meta, links}`.
fn is_list(spec: &Value, schema: &Value) -> bool {
    let schema = resolve(spec, schema);
    schema["properties"]["data"]["type"] == "array" && schema["properties"]["links"].is_object()
}

fn header<'a>(response: &'a Value, name: &str) -> Option<&'a Value> {
    response["headers"]
        .as_object()?
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, h)| h)
}

fn json_schema(content_holder: &Value) -> Option<&Value> {
    content_holder["content"]["application/json"].get("schema")
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

/// Generated clients name their functions after operationIds, so renaming
/// one breaks every client. Ids may be added, never changed: extend this
/// list when a route is added.
const PUBLISHED_OPERATIONS: [(&str, &str, &str); 50] = [
    ("createArticle", "post", "/api/v1/admin/articles"),
    ("createEditor", "post", "/api/v1/admin/editors"),
    ("createTag", "post", "/api/v1/admin/tags"),
    ("deleteArticle", "delete", "/api/v1/admin/articles/{id}"),
    ("deleteEditor", "delete", "/api/v1/admin/editors/{id}"),
    ("deleteTag", "delete", "/api/v1/admin/tags/{id}"),
    ("getAdminArticle", "get", "/api/v1/admin/articles/{id}"),
    ("getAdminTag", "get", "/api/v1/admin/tags/{id}"),
    ("getArticle", "get", "/api/v1/articles/{slug}"),
    ("getEditor", "get", "/api/v1/admin/editors/{id}"),
    ("getMe", "get", "/api/v1/auth/me"),
    ("getOpenApi", "get", "/api/v1/openapi.json"),
    ("getTag", "get", "/api/v1/tags/{slug}"),
    ("healthz", "get", "/healthz"),
    ("listAdminArticles", "get", "/api/v1/admin/articles"),
    ("listAdminTags", "get", "/api/v1/admin/tags"),
    ("listArticles", "get", "/api/v1/articles"),
    ("listEditors", "get", "/api/v1/admin/editors"),
    ("listTags", "get", "/api/v1/tags"),
    ("login", "post", "/api/v1/auth/login"),
    ("logout", "post", "/api/v1/auth/logout"),
    ("readyz", "get", "/readyz"),
    ("refreshToken", "post", "/api/v1/auth/refresh"),
    ("updateArticle", "patch", "/api/v1/admin/articles/{id}"),
    ("updateEditor", "patch", "/api/v1/admin/editors/{id}"),
    ("updateTag", "patch", "/api/v1/admin/tags/{id}"),
    ("listAdminComments", "get", "/api/v1/admin/comments"),
    ("bulkModerateComments", "post", "/api/v1/admin/comments/bulk"),
    ("getAdminComment", "get", "/api/v1/admin/comments/{id}"),
    ("deleteComment", "delete", "/api/v1/admin/comments/{id}"),
    ("updateComment", "patch", "/api/v1/admin/comments/{id}"),
    ("listComments", "get", "/api/v1/articles/{slug}/comments"),
    ("createComment", "post", "/api/v1/articles/{slug}/comments"),
    ("getComment", "get", "/api/v1/articles/{slug}/comments/{id}"),
    ("getMetrics", "get", "/metrics"),
    ("changePassword", "post", "/api/v1/auth/password"),
    ("resetPassword", "post", "/api/v1/auth/password-reset"),
    (
        "createPasswordReset",
        "post",
        "/api/v1/admin/editors/{id}/password-reset",
    ),
    ("unlockEditor", "post", "/api/v1/admin/editors/{id}/unlock"),
    ("listAuthors", "get", "/api/v1/authors"),
    ("getAuthor", "get", "/api/v1/authors/{slug}"),
    ("updateMe", "patch", "/api/v1/auth/me"),
    ("createPreviewLink", "post", "/api/v1/admin/articles/{id}/preview"),
    (
        "revokePreviewLinks",
        "delete",
        "/api/v1/admin/articles/{id}/preview",
    ),
    ("getPreview", "get", "/api/v1/preview/{token}"),
    ("listMyTokens", "get", "/api/v1/auth/tokens"),
    ("createToken", "post", "/api/v1/auth/tokens"),
    ("revokeMyToken", "delete", "/api/v1/auth/tokens/{id}"),
    ("listAllTokens", "get", "/api/v1/admin/tokens"),
    ("revokeToken", "delete", "/api/v1/admin/tokens/{id}"),
];

/// Every `/api/v1/admin` operation declares exactly one scope in its
/// `security`, the one `http::scopes` enforces for API tokens; the other
/// editor routes declare none.
#[test]
fn every_admin_operation_declares_the_scope_it_enforces() {
    let spec = generated();
    let mut f = Findings::default();
    let mut admin = 0;
    for o in operations(&spec) {
        let declared: Vec<&str> = o.op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("bearerAuth"))
            .flat_map(|s| s.as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        if o.path.starts_with("/api/v1/admin/") {
            admin += 1;
            let enforced = match scopes::required(o.method, o.path) {
                Access::Scope(scope) => Some(scope.as_str()),
                _ => None,
            };
            f.check(enforced.is_some() && declared == [enforced.unwrap()], || {
                format!("{}: declares {declared:?}, enforced {enforced:?}", o.name())
            });
        } else {
            f.check(declared.is_empty(), || {
                format!("{}: no scope outside /admin", o.name())
            });
        }
    }
    assert!(admin > 25, "{admin}");
    f.assert_none("scopes");
}

#[test]
fn operation_ids_are_stable() {
    let spec = generated();
    let mut f = Findings::default();
    for (id, method, path) in PUBLISHED_OPERATIONS {
        f.check(spec["paths"][path][method]["operationId"] == id, || {
            format!(
                "{} {path} is `{id}` in published clients; keep that operationId",
                method.to_uppercase()
            )
        });
    }
    f.assert_none("operationIds");
}

#[test]
fn every_operation_is_documented_and_secured_where_needed() {
    let spec = generated();
    let mut f = Findings::default();
    assert_eq!(spec["openapi"], "3.1.0");
    let mut declared_tags = HashSet::new();
    for t in spec["tags"].as_array().expect("root tags") {
        f.check(t["description"].as_str().is_some_and(|d| !d.is_empty()), || {
            format!("tag {} has a description", t["name"])
        });
        declared_tags.insert(t["name"].as_str().unwrap_or_default());
    }
    let mut operation_ids = HashSet::new();
    for o in operations(&spec) {
        let (path, method, op) = (o.path, o.method, o.op);
        let Some(id) = op["operationId"].as_str() else {
            f.check(false, || format!("{method} {path} has no operationId"));
            continue;
        };
        f.check(
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && !id.contains('_')
                && id.chars().all(|c| c.is_ascii_alphanumeric()),
            || format!("camelCase: {id}"),
        );
        f.check(operation_ids.insert(id.to_string()), || {
            format!("duplicate operationId {id}")
        });
        f.check(op["summary"].is_string(), || format!("{id} has no summary"));
        f.check(
            op["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
            || format!("{id} has no description (the doc comment's paragraphs after its summary line)"),
        );
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        f.check(tags.len() == 1, || {
            format!("{id}: one tag, by resource (has {tags:?})")
        });
        for tag in &tags {
            f.check(declared_tags.contains(tag), || {
                format!("{id}: tag `{tag}` is declared in the root `tags` with a description")
            });
        }
        let editor_route = o.is_editor_route();
        let secured = op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|requirement| requirement.get("bearerAuth").is_some())
        });
        f.check(secured == editor_route, || {
            format!("{method} {path}: bearerAuth exactly on editor routes")
        });
        // Admin operations name the scope an API token needs (one, from
        // `http::scopes`); the other editor routes none.
        let expected_security =
            if let (true, Access::Scope(scope)) = (editor_route, scopes::required(method, path)) {
                json!([{"bearerAuth": [scope.as_str()]}])
            } else if editor_route {
                json!([{"bearerAuth": []}])
            } else {
                json!([])
            };
        f.check(op["security"] == expected_security, || {
            format!("{id}: security is {expected_security} (`[]` states a public route)")
        });
        let responses = o.responses();
        if editor_route {
            f.check(responses.contains_key("401"), || format!("{id} documents 401"));
        }
        if path.starts_with("/api/v1/admin") {
            f.check(responses.contains_key("403"), || {
                format!("{id} documents 403 (role too low)")
            });
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let reference = response["$ref"].as_str().unwrap_or_default();
                f.check(reference.starts_with("#/components/responses/"), || {
                    format!("{id} {status} uses a problem response (`response = crate::http::openapi::…`)")
                });
            }
        }
    }
    assert!(spec["components"]["securitySchemes"]["bearerAuth"].is_object());
    f.assert_none("operations");
}

/// One owner for the shared error responses: `openapi::finish` writes
/// them (`openapi::shared_responses`); an annotation that restates one is
/// boilerplate that can drift, so this reads the document as the
/// annotations alone write it.
#[test]
fn annotations_leave_the_shared_responses_to_finish() {
    let annotated = serde_json::to_value(broadsheet::http::annotated_spec()).unwrap();
    let mut f = Findings::default();
    for o in operations(&annotated) {
        let own = o.op["responses"].as_object().cloned().unwrap_or_default();
        let op = o.op.as_object().expect("operation");
        for (status, name) in broadsheet::http::openapi::shared_responses(o.path, o.method, op) {
            let reference = format!("#/components/responses/{name}");
            f.check(own.get(status).is_none_or(|r| r["$ref"] != reference), || {
                format!(
                    "{}: delete `(status = {status}, response = …::{name})` from its annotation; \
                     openapi::finish adds it to every operation of this shape",
                    o.name()
                )
            });
        }
    }
    f.assert_none("restated shared responses");
}

/// `finish` on made-up operations, one of each shape, against the error
/// responses each must end up with: the rule written out a second time, by
/// hand, so that a rule lost from `finish` fails here.
#[test]
fn finish_gives_each_shape_its_shared_responses() {
    let problem = |name: &str| json!({"$ref": format!("#/components/responses/{name}")});
    let ok = json!({"200": {"description": "ok"}});
    let secured = json!([{"bearerAuth": []}]);
    let param = |place: &str, name: &str| json!([{"name": name, "in": place, "required": place == "path", "schema": {"type": "string"}}]);
    let body = json!({"content": {"application/json": {"schema": {"type": "object"}}}, "required": true});
    let op = |id: &str, extra: Value| {
        let mut op = json!({"operationId": id, "responses": ok.clone()});
        op.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        op
    };
    let spec = json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
        "paths": {
            "/api/v1/things": {
                "get": op("listThings", json!({"parameters": param("query", "page")})),
                "post": op("makeThing", json!({"requestBody": body,
                    "responses": {"201": {"description": "made"}, "409": problem("Conflict")}}))
            },
            "/api/v1/things/{slug}": {"get": op("getThing", json!({"parameters": param("path", "slug")}))},
            "/api/v1/admin/things/{id}": {
                "patch": op("updateThing", json!({"security": secured, "parameters": param("path", "id"), "requestBody": body}))
            },
            "/api/v1/auth/me": {"get": op("getMe", json!({"security": secured}))},
            "/healthz": {"get": op("healthz", json!({}))}
        }
    });
    let spec: utoipa::openapi::OpenApi = serde_json::from_value(spec).expect("a valid document");
    let finished = broadsheet::http::openapi::finish(&spec);
    let expected = [
        ("/api/v1/things", "get", vec!["400", "422", "500", "503"]),
        (
            "/api/v1/things",
            "post",
            vec!["400", "409", "413", "415", "422", "500", "503"],
        ),
        ("/api/v1/things/{slug}", "get", vec!["404", "500", "503"]),
        (
            "/api/v1/admin/things/{id}",
            "patch",
            // 409: an Idempotency-Key still in use.
            vec![
                "400", "401", "403", "404", "409", "413", "415", "422", "500", "503",
            ],
        ),
        ("/api/v1/auth/me", "get", vec!["401", "500", "503"]),
        ("/healthz", "get", vec!["500"]),
    ];
    for (path, method, statuses) in expected {
        let responses = finished["paths"][path][method]["responses"].as_object().unwrap();
        let errors: Vec<&str> = responses
            .keys()
            .map(String::as_str)
            .filter(|s| s.starts_with('4') || s.starts_with('5'))
            .collect();
        assert_eq!(errors, statuses, "{method} {path}");
        assert!(finished["paths"][path][method]["security"].is_array());
    }
    assert_eq!(
        finished["paths"]["/api/v1/admin/things/{id}"]["patch"]["responses"]["403"],
        problem("Forbidden")
    );
    // Every POST and PATCH takes an Idempotency-Key; GETs do not.
    let names = |path: &str, method: &str| -> Vec<String> {
        finished["paths"][path][method]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(names("/api/v1/admin/things/{id}", "patch").contains(&"Idempotency-Key".to_string()));
    assert!(names("/api/v1/things", "post").contains(&"Idempotency-Key".to_string()));
    assert!(!names("/api/v1/things", "get").contains(&"Idempotency-Key".to_string()));
}

#[test]
fn error_responses_are_problems_with_their_own_status() {
    let spec = generated();
    let mut f = Findings::default();
    let problem = &spec["components"]["schemas"]["Problem"];
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .expect("Problem.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["type", "title", "status", "detail", "code"] {
        f.check(required.contains(field), || format!("Problem requires `{field}`"));
    }
    f.check(problem["properties"]["errors"].is_object(), || {
        "Problem has `errors`".into()
    });
    for o in operations(&spec) {
        let name = o.name();
        let responses = o.responses();
        f.check(responses.contains_key("500"), || format!("{name} documents 500"));
        if !SERVED_WITHOUT_DATABASE.contains(&o.id()) {
            f.check(responses.contains_key("503"), || format!("{name} documents 503"));
        }
        for (status, response) in responses {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let response = resolve(&spec, response);
            let types: Vec<&String> = response["content"]
                .as_object()
                .map(|c| c.keys().collect())
                .unwrap_or_default();
            f.check(types == ["application/problem+json"], || {
                format!("{name} {status}: problem+json only, not {types:?}")
            });
            let media = &response["content"]["application/problem+json"];
            f.check(media["schema"]["$ref"] == "#/components/schemas/Problem", || {
                format!("{name} {status}: the Problem schema")
            });
            let example = &media["example"];
            f.check(
                example["status"].as_u64().map(|s| s.to_string()).as_deref() == Some(status.as_str()),
                || {
                    format!(
                        "{name} {status}: its example has the status it is documented under ({})",
                        example["status"]
                    )
                },
            );
            f.check(
                example["type"].as_str()
                    == example["code"]
                        .as_str()
                        .map(|c| format!("urn:broadsheet:problem:{c}"))
                        .as_deref(),
                || format!("{name} {status}: example type and code agree"),
            );
            match status.as_str() {
                "401" => f.check(header(response, "WWW-Authenticate").is_some(), || {
                    format!("{name} 401: WWW-Authenticate")
                }),
                "429" | "503" => f.check(header(response, "Retry-After").is_some(), || {
                    format!("{name} {status}: Retry-After")
                }),
                _ => {}
            }
        }
    }
    f.assert_none("error responses");
}

#[test]
fn response_headers_are_documented() {
    let spec = generated();
    let mut f = Findings::default();
    for o in operations(&spec) {
        let name = o.name();
        let responses = o.responses();
        for (status, response) in responses {
            let response = resolve(&spec, response);
            let request_id = header(response, "X-Request-Id");
            f.check(request_id.is_some_and(|h| h["required"] == true), || {
                format!("{name} {status}: X-Request-Id, always sent")
            });
            for (header_name, h) in response["headers"].as_object().into_iter().flatten() {
                let schema = resolve(&spec, &h["schema"]);
                f.check(schema["type"].is_string(), || {
                    format!("{name} {status} {header_name}: typed schema")
                });
                f.check(h["description"].is_string(), || {
                    format!("{name} {status} {header_name}: described")
                });
            }
            // A password reset token is shown once and has no URL of its own.
            if status == "201" && o.id() != "createPasswordReset" {
                f.check(
                    header(response, "Location").is_some_and(|h| h["required"] == true),
                    || format!("{name}: 201 with Location"),
                );
            }
            if status == "304" {
                f.check(header(response, "ETag").is_some(), || {
                    format!("{name}: 304 names the ETag")
                });
                f.check(response.get("content").is_none(), || {
                    format!("{name}: 304 has no body")
                });
            }
            if status.starts_with('2')
                && let Some(schema) = json_schema(response)
                && is_list(&spec, schema)
            {
                f.check(header(response, "Link").is_some(), || {
                    format!("{name}: lists send Link")
                });
                let meta = resolve(&spec, &resolve(&spec, schema)["properties"]["meta"]);
                f.check(meta["properties"]["per_page"].is_object(), || {
                    format!("{name}: list meta")
                });
            }
        }
        let ok = responses.get("200").map(|r| resolve(&spec, r));
        let etag_on_200 = ok.is_some_and(|r| header(r, "ETag").is_some());
        if o.method == "get" && etag_on_200 {
            f.check(responses.contains_key("304"), || {
                format!("{name}: a GET with an ETag answers 304")
            });
        }
        if responses.contains_key("304") {
            f.check(
                o.parameters_in("header").iter().any(|p| {
                    p["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case("If-None-Match"))
                }),
                || format!("{name}: 304 comes from If-None-Match, a documented parameter"),
            );
        }
        let public_read = o.method == "get"
            && !o.is_editor_route()
            && o.path.starts_with("/api/v1/")
            && o.path != "/api/v1/openapi.json";
        if public_read {
            f.check(ok.is_some_and(|r| header(r, "ETag").is_some()), || {
                format!("{name}: public GETs send ETag (headers((\"ETag\" = String)) on the 200)")
            });
            f.check(ok.is_some_and(|r| header(r, "Cache-Control").is_some()), || {
                format!("{name}: public GETs send Cache-Control")
            });
        }
        if o.method == "patch" && o.is_editor_route() {
            f.check(
                o.parameters_in("header").iter().any(|p| p["name"] == "If-Match"),
                || format!("{name}: PATCH takes If-Match"),
            );
            f.check(responses.contains_key("412"), || {
                format!("{name}: PATCH documents 412")
            });
        }
    }
    f.assert_none("response headers");
}

#[test]
fn parameters_are_described_and_constrained() {
    let spec = generated();
    let mut f = Findings::default();
    for o in operations(&spec) {
        let name = o.name();
        let responses = o.responses();
        for p in o.parameters() {
            let pname = p["name"].as_str().unwrap_or("?");
            f.check(
                ["query", "path", "header"].contains(&p["in"].as_str().unwrap_or_default()),
                || format!("{name} {pname}: in query, path or header"),
            );
            f.check(
                p["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
                || format!("{name} {pname}: described"),
            );
            let Some(schema) = p.get("schema").map(|s| resolve(&spec, s)) else {
                f.check(false, || format!("{name} {pname}: schema"));
                continue;
            };
            f.check(!schema["type"].is_array(), || {
                format!("{name} {pname}: a parameter is absent or has a value, never null")
            });
            if p["in"] == "query" {
                match pname {
                    // No default: a generated client sends every default on
                    // every call, and `page=1` is refused in cursor mode.
                    "page" => f.check(schema["minimum"] == 1 && schema.get("default").is_none(), || {
                        format!("{name}: page ≥ 1, with no default")
                    }),
                    "per_page" => f.check(
                        schema["minimum"] == 1 && schema["maximum"] == 100 && schema["default"] == 20,
                        || format!("{name}: per_page 1–100, default 20"),
                    ),
                    _ => {}
                }
            }
            if p["in"] == "query" && ENUM_PARAMS.contains(&pname) {
                let values = if schema["type"] == "array" {
                    resolve(&spec, &schema["items"])
                } else {
                    schema
                };
                f.check(values["enum"].as_array().is_some_and(|e| !e.is_empty()), || {
                    format!("{name} {pname}: lists its values as an enum")
                });
            }
            if p["in"] == "query" && schema["type"] == "array" {
                f.check(p["style"] == "form" && p["explode"] == false, || {
                    format!("{name} {pname}: comma-separated (style form, explode false)")
                });
            }
            if p["in"] == "path" {
                f.check(p["required"] == true, || {
                    format!("{name} {pname}: path parameters are required")
                });
            }
        }
        let in_template: BTreeSet<&str> = o
            .path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split_once('}').map(|(name, _)| name))
            .collect();
        let in_path: BTreeSet<&str> = o
            .parameters_in("path")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        f.check(in_template == in_path, || {
            format!("{name}: path parameters {in_path:?} match the template {in_template:?}")
        });
        if !in_path.is_empty() {
            f.check(responses.contains_key("404"), || {
                format!("{name}: a path that names a resource can 404")
            });
        }
        if !o.parameters_in("query").is_empty() {
            for status in ["400", "422"] {
                f.check(responses.contains_key(status), || {
                    format!(
                        "{name}: query strings can be too long (400) or invalid (422): documents {status}"
                    )
                });
            }
        }
        if let Some(body) = o.op.get("requestBody") {
            f.check(body["required"] == true, || {
                format!("{name}: the body is required")
            });
            let types: Vec<&String> = body["content"]
                .as_object()
                .map(|c| c.keys().collect())
                .unwrap_or_default();
            f.check(types == ["application/json"], || {
                format!("{name}: JSON bodies, not {types:?}")
            });
            for status in ["400", "413", "415", "422"] {
                f.check(responses.contains_key(status), || {
                    format!("{name}: a JSON body can give {status}")
                });
            }
        }
    }
    f.assert_none("parameters");
}

#[test]
fn bodies_have_examples_and_schemas_have_descriptions() {
    let spec = generated();
    let mut f = Findings::default();
    for o in operations(&spec) {
        let name = o.name();
        if let Some(body) = o.op.get("requestBody") {
            let media = &body["content"]["application/json"];
            f.check(
                media.get("example").is_some() || has_example(&spec, &media["schema"]),
                || format!("{name}: request body example (#[schema(example = …)] on its type)"),
            );
        }
        for (status, response) in o.responses() {
            let response = resolve(&spec, response);
            if !status.starts_with('2') {
                continue;
            }
            if let Some(schema) = json_schema(response) {
                let media = &response["content"]["application/json"];
                f.check(
                    media.get("example").is_some() || has_example(&spec, schema),
                    || format!("{name} {status}: response example (#[schema(example = …)] on its type)"),
                );
            }
        }
    }
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        f.check(
            schema["description"].as_str().is_some_and(|d| !d.is_empty()),
            || format!("schema {name} has a description (a `///` comment on the type)"),
        );
    }
    f.assert_none("examples and descriptions");
}

/// Every property a resource always sends is `required` (nullable where it
/// can be null): generated clients otherwise type each one as optional.
/// Only list items (sparse fieldsets) and bodies with optional parts may
/// leave properties out.
#[test]
fn response_properties_that_are_always_sent_are_required() {
    let spec = generated();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    let mut f = Findings::default();
    let mut checked = 0;
    for name in [
        "ArticleResponse",
        "TagResponse",
        "EditorResponse",
        "FeaturedImage",
        "AuthorSummary",
        "TagSummary",
    ] {
        let schema = &schemas[name];
        let required: BTreeSet<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for property in schema["properties"].as_object().unwrap().keys() {
            checked += 1;
            f.check(required.contains(property.as_str()), || {
                format!("{name}.{property} is always sent but not required")
            });
        }
    }
    assert!(checked > 40, "{checked}");
    let article = &schemas["ArticleResponse"];
    for nullable in ["subtitle", "featured_image_url", "published_at"] {
        let p = &article["properties"][nullable];
        f.check(p.to_string().contains("null"), || {
            format!("ArticleResponse.{nullable} is nullable")
        });
    }
    f.assert_none("required properties");
}

#[test]
fn every_reference_resolves() {
    fn walk(spec: &Value, value: &Value, at: &str, f: &mut Findings) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                    let target = reference.strip_prefix('#').and_then(|p| spec.pointer(p));
                    f.check(target.is_some(), || format!("{at}: unresolved {reference}"));
                }
                for (k, v) in map {
                    walk(spec, v, &format!("{at}/{k}"), f);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(spec, v, &format!("{at}/{i}"), f);
                }
            }
            _ => {}
        }
    }
    let spec = generated();
    let mut f = Findings::default();
    walk(&spec, &spec, "#", &mut f);
    f.assert_none("references");
}

#[test]
fn enums_match_the_domain() {
    use broadsheet::domain::article::{ArticleSort, ArticleStatus, FIELDS};
    let spec = generated();
    let values = |schema: &Value| -> Vec<String> {
        resolve(&spec, schema)["enum"]
            .as_array()
            .expect("enum")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let schemas = &spec["components"]["schemas"];
    assert_eq!(values(&schemas["ArticleField"]), FIELDS);
    assert_eq!(
        values(&schemas["ArticleStatus"]),
        ArticleStatus::ALL.map(|s| s.as_str())
    );
    let list = &spec["paths"]["/api/v1/articles"]["get"];
    let sort = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sort")
        .unwrap();
    assert_eq!(values(&sort["schema"]), ArticleSort::ALL.map(|s| s.as_str()));
}

async fn the_spec_is_served(app: TestApp) {
    let res = app.get("/api/v1/openapi.json").send().await;
    res.assert_status(200);
    assert_eq!(res.json(), generated());
    let docs = app.get("/docs/").send().await;
    docs.assert_status(200);
    assert!(docs.text().contains("swagger"), "the docs page loads Swagger UI");
    let csp = docs.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("script-src 'self'"));
    assert!(
        !csp.contains("unsafe-eval")
            && !csp
                .split(';')
                .any(|d| d.contains("script-src") && d.contains("unsafe-inline")),
        "scripts stay strict on /docs: {csp}"
    );
    assert!(
        !docs.text().contains("<script>"),
        "no inline script in the docs page"
    );
    let init = app.get("/docs/swagger-initializer.js").send().await;
    init.assert_status(200);
    assert!(
        init.text().contains("/api/v1/openapi.json"),
        "the initializer is a file of its own"
    );
    assert!(
        init.text().contains("\"validatorUrl\": \"none\""),
        "no call to an online validator"
    );
}

/// A request to every operation that must fail before it does anything: the
/// answer is a status the operation documents, as problem+json with
/// `X-Request-Id`. Editor routes without a token; the rest with a name that
/// does not exist, an unknown body field, a body that is not JSON, or an
/// over-long query string.
async fn every_operation_answers_bad_requests_as_documented(app: TestApp) {
    check_bad_requests(&app).await;
}

async fn check_bad_requests<'a>(app: &'a TestApp) {
    let spec = generated();
    let mut f = Findings::default();
    let token = app.admin_token().await;
    let long_query = format!("?q={}", "x".repeat(5000));
    for o in operations(&spec) {
        let path = o
            .path
            .split('/')
            .map(|s| match s {
                "{slug}" => "no-such-thing".to_string(),
                // A parameter inside a segment too (`articles-{n}.xml`).
                s => match s
                    .split_once('{')
                    .and_then(|(head, rest)| Some((head, rest.split_once('}')?.1)))
                {
                    Some((head, tail)) => format!("{head}987654{tail}"),
                    None => s.to_string(),
                },
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = actix_web::http::Method::from_bytes(o.method.to_uppercase().as_bytes()).unwrap();
        let mut attempts = Vec::new();
        if o.is_editor_route() {
            attempts.push(("no token", app.request(method.clone(), &path).send().await));
        }
        let editor = o.is_editor_route();
        let authed = |req: crate::support::Req<'a>| -> crate::support::Req<'a> {
            if editor { req.bearer(&token) } else { req }
        };
        if !o.parameters_in("query").is_empty() {
            let res = authed(app.request(method.clone(), &format!("{path}{long_query}")))
                .send()
                .await;
            attempts.push(("over-long query", res));
        }
        if o.op.get("requestBody").is_some() {
            let res = authed(app.request(method.clone(), &path))
                .body("application/json", "{\"not_a_field\": true}")
                .send()
                .await;
            attempts.push(("unknown field", res));
            let res = authed(app.request(method.clone(), &path))
                .body("text/plain", "hello")
                .send()
                .await;
            attempts.push(("not JSON", res));
        }
        if !o.parameters_in("path").is_empty() && o.method != "post" {
            let res = authed(app.request(method.clone(), &path)).send().await;
            attempts.push(("no such resource", res));
        }
        for (what, res) in attempts {
            let status = res.status.as_u16();
            let name = o.name();
            f.check((400..500).contains(&status), || {
                format!("{name} ({what}): a 4xx, got {status}: {}", res.text())
            });
            f.check(o.responses().contains_key(&status.to_string()), || {
                format!(
                    "{name} ({what}): answered {status}, which it does not document: {}",
                    res.text()
                )
            });
            f.check(
                res.header("content-type") == Some("application/problem+json"),
                || format!("{name} ({what}): problem+json"),
            );
            f.check(res.header("x-request-id").is_some(), || {
                format!("{name} ({what}): X-Request-Id")
            });
        }
    }
    f.assert_none("answers to bad requests");
}

/// The documented headers of a cacheable read are really sent, on the 200
/// and on the 304.
async fn conditional_reads_send_their_documented_headers(app: TestApp) {
    let spec = generated();
    let mut f = Findings::default();
    let token = app.admin_token().await;
    for o in operations(&spec) {
        if o.method != "get" || !o.responses().contains_key("304") || !o.parameters_in("path").is_empty() {
            continue;
        }
        let name = o.name();
        // Required query parameters (`q` of the search routes) get their
        // example.
        let required: Vec<String> = o
            .parameters_in("query")
            .into_iter()
            .filter(|p| p["required"] == true)
            .map(|p| {
                let example = p["example"]
                    .as_str()
                    .or(p["schema"]["example"].as_str())
                    .unwrap_or("x");
                format!(
                    "{}={}",
                    p["name"].as_str().unwrap_or_default(),
                    crate::support::urlencode(example)
                )
            })
            .collect();
        let path = match required.is_empty() {
            true => o.path.to_string(),
            false => format!("{}?{}", o.path, required.join("&")),
        };
        let request = |etag: Option<&str>| {
            let mut req = app.get(&path);
            if o.is_editor_route() {
                req = req.bearer(&token);
            }
            if let Some(etag) = etag {
                req = req.header("if-none-match", etag);
            }
            req.send()
        };
        let first = request(None).await;
        first.assert_status(200);
        let ok = resolve(&spec, &o.responses()["200"]);
        for (header_name, h) in ok["headers"].as_object().unwrap() {
            if h["required"] == true {
                f.check(first.header(header_name).is_some(), || {
                    format!("{name}: 200 sends {header_name}")
                });
            }
        }
        let Some(etag) = first.header("etag").map(str::to_string) else {
            f.check(false, || format!("{name}: 200 sends an ETag"));
            continue;
        };
        let again = request(Some(&etag)).await;
        f.check(again.status.as_u16() == 304, || {
            format!("{name}: If-None-Match gives 304, got {}", again.status)
        });
        f.check(again.header("etag") == Some(etag.as_str()), || {
            format!("{name}: 304 names the ETag")
        });
        f.check(again.header("x-request-id").is_some(), || {
            format!("{name}: 304 has X-Request-Id")
        });
        f.check(again.body.is_empty(), || format!("{name}: 304 has no body"));
    }
    f.assert_none("conditional reads");
}

backend_tests!(
    the_spec_is_served,
    every_operation_answers_bad_requests_as_documented,
    conditional_reads_send_their_documented_headers
);
