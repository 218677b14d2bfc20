//! The OpenAPI document: committed, complete, and served.
//!
//! Every check here walks the generated document, so a route added later
//! (comments, shares, …) is held to the same rules the day it is registered.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::TestApp;

fn generated() -> Value {
    serde_json::from_str(&broadsheet::http::api_spec().to_pretty_json().unwrap()).unwrap()
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Query parameters that choose among fixed values must list them.
const ENUM_PARAMS: [&str; 5] = ["status", "channel", "sort", "group_by", "role"];

/// Operations answered from memory: no database, so no `503`.
const SERVED_WITHOUT_DATABASE: [&str; 2] = ["healthz", "getOpenApi"];

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
        self.path.starts_with("/api/v1/admin") || self.path == "/api/v1/auth/me"
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

fn has_example(spec: &Value, schema: &Value) -> bool {
    let schema = resolve(spec, schema);
    schema.get("example").is_some() || schema["examples"].as_array().is_some_and(|e| !e.is_empty())
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

#[test]
fn every_operation_is_documented_and_secured_where_needed() {
    let spec = generated();
    assert_eq!(spec["openapi"], "3.1.0");
    let declared_tags: HashSet<&str> = spec["tags"]
        .as_array()
        .expect("root tags")
        .iter()
        .map(|t| {
            assert!(
                t["description"].as_str().is_some_and(|d| !d.is_empty()),
                "tag {t} has a description"
            );
            t["name"].as_str().unwrap()
        })
        .collect();
    let mut operation_ids = HashSet::new();
    for o in operations(&spec) {
        let (path, method, op) = (o.path, o.method, o.op);
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            id.chars().next().unwrap().is_ascii_lowercase() && !id.contains('_'),
            "camelCase: {id}"
        );
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "camelCase: {id}");
        assert!(operation_ids.insert(id.to_string()), "duplicate operationId {id}");
        assert!(op["summary"].is_string(), "{id} has no summary");
        assert!(
            op["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
            "{id} has no description (the doc comment's paragraphs after the summary line)"
        );
        let tags = op["tags"].as_array().expect("tags");
        assert_eq!(tags.len(), 1, "{id}: one tag, by resource");
        assert!(
            declared_tags.contains(tags[0].as_str().unwrap()),
            "{id}: tag {} is declared in the root `tags` with a description",
            tags[0]
        );
        let editor_route = o.is_editor_route();
        let secured = op["security"]
            .as_array()
            .expect("every operation states its security, `[]` when public")
            .iter()
            .any(|requirement| requirement.get("bearerAuth").is_some());
        assert_eq!(
            secured, editor_route,
            "{method} {path}: bearerAuth exactly on editor routes"
        );
        if editor_route {
            assert_eq!(op["security"], json!([{"bearerAuth": []}]), "{id}");
        } else {
            assert_eq!(op["security"], json!([]), "{id}: public, no token");
        }
        let responses = o.responses();
        if editor_route {
            assert!(responses.contains_key("401"), "{id} documents 401");
        }
        if path.starts_with("/api/v1/admin") {
            assert!(responses.contains_key("403"), "{id} documents 403 (role too low)");
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
    assert!(spec["components"]["securitySchemes"]["bearerAuth"].is_object());
}

#[test]
fn error_responses_are_problems_with_their_own_status() {
    let spec = generated();
    let problem = &spec["components"]["schemas"]["Problem"];
    let required: BTreeSet<&str> = problem["required"]
        .as_array()
        .expect("Problem.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(required.contains(field), "Problem requires `{field}`");
    }
    assert!(
        problem["properties"]["errors"].is_object(),
        "Problem has `errors`"
    );
    for o in operations(&spec) {
        let responses = o.responses();
        assert!(responses.contains_key("500"), "{} documents 500", o.name());
        if !SERVED_WITHOUT_DATABASE.contains(&o.id()) {
            assert!(responses.contains_key("503"), "{} documents 503", o.name());
        }
        for (status, response) in responses {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let response = resolve(&spec, response);
            let content = response["content"].as_object().expect("problem content");
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                ["application/problem+json"],
                "{} {status}: problem+json only",
                o.name()
            );
            let media = &content["application/problem+json"];
            assert_eq!(media["schema"]["$ref"], "#/components/schemas/Problem");
            let example = &media["example"];
            assert_eq!(
                example["status"].as_u64().map(|s| s.to_string()).as_deref(),
                Some(status.as_str()),
                "{} {status}: its example has the status it is documented under",
                o.name()
            );
            assert_eq!(
                example["type"].as_str(),
                example["code"]
                    .as_str()
                    .map(|c| format!("urn:broadsheet:problem:{c}"))
                    .as_deref(),
                "{} {status}: example type and code agree",
                o.name()
            );
            match status.as_str() {
                "401" => assert!(header(response, "WWW-Authenticate").is_some(), "{}", o.name()),
                "429" | "503" => assert!(header(response, "Retry-After").is_some(), "{}", o.name()),
                _ => {}
            }
        }
    }
}

#[test]
fn response_headers_are_documented() {
    let spec = generated();
    for o in operations(&spec) {
        let name = o.name();
        let responses = o.responses();
        for (status, response) in responses {
            let response = resolve(&spec, response);
            let request_id =
                header(response, "X-Request-Id").unwrap_or_else(|| panic!("{name} {status}: X-Request-Id"));
            assert_eq!(
                request_id["required"], true,
                "{name} {status}: X-Request-Id is always sent"
            );
            for (header_name, h) in response["headers"].as_object().unwrap() {
                let schema = resolve(&spec, &h["schema"]);
                assert!(
                    schema["type"].is_string(),
                    "{name} {status} {header_name}: typed schema"
                );
                assert!(
                    h["description"].is_string(),
                    "{name} {status} {header_name}: described"
                );
            }
            if status == "201" {
                let location =
                    header(response, "Location").unwrap_or_else(|| panic!("{name}: 201 with Location"));
                assert_eq!(location["required"], true);
            }
            if status == "304" {
                assert!(header(response, "ETag").is_some(), "{name}: 304 names the ETag");
                assert!(response.get("content").is_none(), "{name}: 304 has no body");
            }
            if status.starts_with('2')
                && let Some(schema) = json_schema(response)
            {
                let schema = resolve(&spec, schema);
                let is_list = schema["properties"]["data"]["type"] == "array"
                    && schema["properties"]["links"].is_object();
                if is_list {
                    assert!(header(response, "Link").is_some(), "{name}: lists send Link");
                    let meta = resolve(&spec, &schema["properties"]["meta"]);
                    assert!(meta["properties"]["per_page"].is_object(), "{name}: list meta");
                }
            }
        }
        let ok = responses.get("200").map(|r| resolve(&spec, r));
        let etag_on_200 = ok.is_some_and(|r| header(r, "ETag").is_some());
        if o.method == "get" && etag_on_200 {
            assert!(
                responses.contains_key("304"),
                "{name}: a GET with an ETag answers 304"
            );
        }
        if responses.contains_key("304") {
            assert!(
                o.parameters_in("header").iter().any(|p| p["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("If-None-Match"))),
                "{name}: 304 comes from If-None-Match, a documented parameter"
            );
        }
        let public_read = o.method == "get"
            && !o.is_editor_route()
            && o.path.starts_with("/api/v1/")
            && o.path != "/api/v1/openapi.json";
        if public_read {
            let ok = ok.unwrap_or_else(|| panic!("{name}: 200"));
            assert!(header(ok, "ETag").is_some(), "{name}: public GETs send ETag");
            assert!(
                header(ok, "Cache-Control").is_some(),
                "{name}: public GETs send Cache-Control"
            );
        }
        if o.method == "patch" && o.is_editor_route() {
            assert!(
                o.parameters_in("header").iter().any(|p| p["name"] == "If-Match"),
                "{name}: PATCH takes If-Match"
            );
            assert!(responses.contains_key("412"), "{name}: PATCH documents 412");
        }
    }
}

#[test]
fn parameters_are_described_and_constrained() {
    let spec = generated();
    for o in operations(&spec) {
        let name = o.name();
        let responses = o.responses();
        for p in o.parameters() {
            let pname = p["name"].as_str().expect("parameter name");
            assert!(
                ["query", "path", "header"].contains(&p["in"].as_str().unwrap_or_default()),
                "{name} {pname}: in query, path or header"
            );
            assert!(
                p["description"].as_str().is_some_and(|d| !d.trim().is_empty()),
                "{name} {pname}: described"
            );
            let schema = resolve(
                &spec,
                p.get("schema")
                    .unwrap_or_else(|| panic!("{name} {pname}: schema")),
            );
            match pname {
                "page" => assert_eq!(schema["minimum"], 1, "{name} page ≥ 1"),
                "per_page" => {
                    assert_eq!(schema["minimum"], 1, "{name} per_page ≥ 1");
                    assert_eq!(schema["maximum"], 100, "{name} per_page ≤ 100");
                    assert_eq!(schema["default"], 20, "{name} per_page defaults to 20");
                }
                _ => {}
            }
            if p["in"] == "query" && ENUM_PARAMS.contains(&pname) {
                let values = if schema["type"] == "array" {
                    resolve(&spec, &schema["items"])
                } else {
                    schema
                };
                assert!(
                    values["enum"].as_array().is_some_and(|e| !e.is_empty()),
                    "{name} {pname}: lists its values as an enum"
                );
            }
            if p["in"] == "query" && schema["type"] == "array" {
                assert_eq!(p["style"], "form", "{name} {pname}: comma-separated");
                assert_eq!(p["explode"], false, "{name} {pname}: comma-separated");
            }
            if p["in"] == "path" {
                assert_eq!(
                    p["required"], true,
                    "{name} {pname}: path parameters are required"
                );
            }
        }
        let in_template: BTreeSet<&str> = o
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let in_path: BTreeSet<&str> = o
            .parameters_in("path")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert_eq!(in_template, in_path, "{name}: path parameters match the template");
        if !in_path.is_empty() {
            assert!(
                responses.contains_key("404"),
                "{name}: a path that names a resource can 404"
            );
        }
        if !o.parameters_in("query").is_empty() {
            for status in ["400", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: query strings can be too long (400) or invalid (422): documents {status}"
                );
            }
        }
        if let Some(body) = o.op.get("requestBody") {
            assert_eq!(body["required"], true, "{name}: the body is required");
            assert_eq!(
                body["content"].as_object().unwrap().keys().collect::<Vec<_>>(),
                ["application/json"],
                "{name}: JSON bodies"
            );
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{name}: a JSON body can give {status}"
                );
            }
        }
    }
}

#[test]
fn bodies_have_examples_and_schemas_have_descriptions() {
    let spec = generated();
    for o in operations(&spec) {
        let name = o.name();
        if let Some(body) = o.op.get("requestBody") {
            let media = &body["content"]["application/json"];
            assert!(
                media.get("example").is_some() || has_example(&spec, &media["schema"]),
                "{name}: request body example"
            );
        }
        for (status, response) in o.responses() {
            let response = resolve(&spec, response);
            if !status.starts_with('2') {
                continue;
            }
            if let Some(schema) = json_schema(response) {
                let media = &response["content"]["application/json"];
                assert!(
                    media.get("example").is_some() || has_example(&spec, schema),
                    "{name} {status}: response example"
                );
            }
        }
    }
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema["description"].as_str().is_some_and(|d| !d.is_empty()),
            "schema {name} has a description (a `///` comment on the type)"
        );
    }
}

#[test]
fn every_reference_resolves() {
    fn walk(spec: &Value, value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                    let pointer = reference
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{at}: {reference}"));
                    assert!(spec.pointer(pointer).is_some(), "{at}: unresolved {reference}");
                }
                for (k, v) in map {
                    walk(spec, v, &format!("{at}/{k}"));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(spec, v, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    let spec = generated();
    walk(&spec, &spec, "#");
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
/// does not exist, an empty JSON body, or an over-long query string.
async fn every_operation_answers_bad_requests_as_documented(app: TestApp) {
    check_bad_requests(&app).await;
}

async fn check_bad_requests<'a>(app: &'a TestApp) {
    let spec = generated();
    let token = app.admin_token().await;
    let long_query = format!("?q={}", "x".repeat(5000));
    for o in operations(&spec) {
        let path = o
            .path
            .replace("{id}", "987654")
            .replace("{slug}", "no-such-thing");
        let path = path
            .split('/')
            .map(|s| if s.starts_with('{') { "987654" } else { s })
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
            assert!(
                (400..500).contains(&status),
                "{} ({what}): a 4xx, got {status}: {}",
                o.name(),
                res.text()
            );
            assert!(
                o.responses().contains_key(&status.to_string()),
                "{} ({what}): answered {status}, which it does not document: {}",
                o.name(),
                res.text()
            );
            assert_eq!(
                res.header("content-type"),
                Some("application/problem+json"),
                "{}",
                o.name()
            );
            assert!(
                res.header("x-request-id").is_some(),
                "{} ({what}): X-Request-Id",
                o.name()
            );
            assert_eq!(res.json()["status"], status);
        }
    }
}

/// The documented headers of a cacheable read are really sent, on the 200
/// and on the 304.
async fn conditional_reads_send_their_documented_headers(app: TestApp) {
    let spec = generated();
    for o in operations(&spec) {
        if o.method != "get" || !o.responses().contains_key("304") || !o.parameters_in("path").is_empty() {
            continue;
        }
        let token = if o.is_editor_route() {
            Some(app.admin_token().await)
        } else {
            None
        };
        let request = |etag: Option<&str>| {
            let mut req = app.get(o.path);
            if let Some(token) = &token {
                req = req.bearer(token);
            }
            if let Some(etag) = etag {
                req = req.header("if-none-match", etag);
            }
            req.send()
        };
        let first = request(None).await;
        first.assert_status(200);
        let ok = resolve(&spec, &o.responses()["200"]);
        for (name, h) in ok["headers"].as_object().unwrap() {
            if h["required"] == true {
                assert!(first.header(name).is_some(), "{}: 200 sends {name}", o.name());
            }
        }
        let etag = first.header("etag").expect("etag").to_string();
        let again = request(Some(&etag)).await;
        again.assert_status(304);
        assert_eq!(again.header("etag"), Some(etag.as_str()), "{}", o.name());
        assert!(again.header("x-request-id").is_some());
        assert!(again.body.is_empty());
    }
}

backend_tests!(
    the_spec_is_served,
    every_operation_answers_bad_requests_as_documented,
    conditional_reads_send_their_documented_headers
);
