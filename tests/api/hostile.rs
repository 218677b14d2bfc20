//! Hostile input, table-driven: every case is a request a careless or
//! malicious client could send. Each must be answered with a 4xx
//! problem+json carrying a `code` (never a 5xx, never HTML or plain text),
//! and a refused request must leave the database exactly as it was. Every
//! case that goes wrong is reported by name, all at once.

use actix_web::http::Method;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, TestResponse};

/// What a case must get back.
#[derive(Debug, Clone)]
enum Expect {
    /// This status and problem `code`.
    Problem(u16, &'static str),
    /// 422 `validation_failed` naming this field.
    Invalid(&'static str),
    /// Any 4xx problem (several checks may apply first).
    Refused,
    /// Accepted or refused, but never a fault: a 2xx list whose items are
    /// all published articles, or a 4xx problem.
    Safe,
}

struct Case {
    name: String,
    method: Method,
    path: String,
    auth: bool,
    body: Option<(&'static str, Vec<u8>)>,
    expect: Expect,
}

impl Case {
    fn new(name: impl Into<String>, method: Method, path: impl Into<String>, expect: Expect) -> Case {
        Case {
            name: name.into(),
            method,
            path: path.into(),
            auth: false,
            body: None,
            expect,
        }
    }

    fn authed(mut self, auth: bool) -> Case {
        self.auth = auth;
        self
    }

    fn json_bytes(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(("application/json", body.into()));
        self
    }

    fn typed(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some((content_type, body.into()));
        self
    }
}

/// Row counts of every table a request could write, plus the full state of
/// the article and tag the cases aim at.
#[derive(Debug, PartialEq)]
struct Snapshot {
    counts: Vec<(&'static str, i64)>,
    article: Value,
    tag: Value,
}

async fn snapshot(app: &TestApp, token: &str, article_id: i64, tag_id: i64) -> Snapshot {
    use broadsheet::db::schema::*;
    let counts = app
        .parts
        .state
        .db
        .read(|conn| {
            Ok(vec![
                ("editors", editors::table.count().get_result::<i64>(conn)?),
                ("articles", articles::table.count().get_result::<i64>(conn)?),
                ("tags", tags::table.count().get_result::<i64>(conn)?),
                (
                    "article_tags",
                    article_tags::table.count().get_result::<i64>(conn)?,
                ),
                ("comments", comments::table.count().get_result::<i64>(conn)?),
                (
                    "share_events",
                    share_events::table.count().get_result::<i64>(conn)?,
                ),
                (
                    "refresh_tokens",
                    refresh_tokens::table.count().get_result::<i64>(conn)?,
                ),
                (
                    "login_failures",
                    login_failures::table.count().get_result::<i64>(conn)?,
                ),
            ])
        })
        .await
        .expect("counts");
    let article = app
        .get(&format!("/api/v1/admin/articles/{article_id}"))
        .bearer(token)
        .send()
        .await
        .json();
    let tag = app
        .get(&format!("/api/v1/admin/tags/{tag_id}"))
        .bearer(token)
        .send()
        .await
        .json();
    Snapshot { counts, article, tag }
}

/// What is wrong with `res` for `expect`, if anything. `public` lists must
/// never show an unpublished article.
fn judge(res: &TestResponse, expect: &Expect, public: bool) -> Result<(), String> {
    let status = res.status.as_u16();
    let content_type = res.header("content-type").unwrap_or("");
    let body: Option<Value> = serde_json::from_slice(&res.body).ok();
    let code = body.as_ref().and_then(|b| b["code"].as_str()).unwrap_or("");
    let summary = || {
        format!(
            "{status} {content_type} {}",
            res.text().chars().take(300).collect::<String>()
        )
    };
    if status >= 500 {
        return Err(format!("server error: {}", summary()));
    }
    if status >= 400 {
        if content_type != "application/problem+json" || code.is_empty() {
            return Err(format!("not a problem document with a code: {}", summary()));
        }
        if body.as_ref().is_some_and(|b| b["status"] != status) {
            return Err(format!(
                "problem `status` differs from the HTTP status: {}",
                summary()
            ));
        }
    }
    match expect {
        Expect::Problem(want, want_code) => {
            if status != *want || code != *want_code {
                return Err(format!("expected {want} {want_code}, got {}", summary()));
            }
        }
        Expect::Invalid(field) => {
            let named = body
                .as_ref()
                .and_then(|b| b["errors"].as_array())
                .is_some_and(|errors| errors.iter().any(|e| e["field"] == *field));
            if status != 422 || code != "validation_failed" || !named {
                return Err(format!("expected 422 naming `{field}`, got {}", summary()));
            }
        }
        Expect::Refused => {
            if !(400..500).contains(&status) {
                return Err(format!("expected a 4xx problem, got {}", summary()));
            }
        }
        Expect::Safe => {
            if status < 400 {
                let items = body.as_ref().and_then(|b| b["data"].as_array());
                let Some(items) = items else {
                    return Err(format!("a 2xx without a `data` list: {}", summary()));
                };
                if public
                    && items
                        .iter()
                        .any(|a| a.get("status").is_some_and(|s| s != "published"))
                {
                    return Err(format!("unpublished articles listed: {}", summary()));
                }
            }
        }
    }
    Ok(())
}

/// Sends every case; refused ones must not change the database. Fails once,
/// listing every case that went wrong.
async fn run(app: &TestApp, token: &str, article_id: i64, tag_id: i64, cases: Vec<Case>) {
    let total = cases.len();
    let mut failures = Vec::new();
    for case in cases {
        let before = snapshot(app, token, article_id, tag_id).await;
        let mut req = app.request(case.method.clone(), &case.path);
        if case.auth {
            req = req.bearer(token);
        }
        if let Some((content_type, body)) = case.body {
            req = req.body(content_type, body);
        }
        let res = req.send().await;
        let label = format!("[{}] {} {}", case.name, case.method, short(&case.path));
        if let Err(why) = judge(&res, &case.expect, !case.path.starts_with("/api/v1/admin")) {
            failures.push(format!("{label}: {why}"));
            continue;
        }
        if res.status.is_client_error() {
            let after = snapshot(app, token, article_id, tag_id).await;
            if after != before {
                failures.push(format!(
                    "{label}: refused with {}, but the database changed:\n      before {before:?}\n      after  {after:?}",
                    res.status
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} hostile cases failed ({:?}):\n  - {}\n",
        failures.len(),
        app.backend,
        failures.join("\n  - ")
    );
}

fn short(path: &str) -> String {
    if path.len() > 120 {
        format!("{}…({} bytes)", &path[..100], path.len())
    } else {
        path.to_string()
    }
}

/// The target of the cases: a published article with a tag, a draft, and
/// an admin token.
struct Fixture {
    token: String,
    article_id: i64,
    slug: String,
    tag_id: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    let token = app.admin_token().await;
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Hostile target", "body_markdown": "Body text.", "status": "published", "tags": ["Safety"]}))
        .send()
        .await;
    res.assert_status(201);
    let article = res.json();
    app.post("/api/v1/admin/articles")
        .bearer(&token)
        .json(json!({"title": "Secret draft", "body_markdown": "Not public."}))
        .send()
        .await
        .assert_status(201);
    Fixture {
        token,
        article_id: article["id"].as_i64().unwrap(),
        slug: article["slug"].as_str().unwrap().to_string(),
        tag_id: article["tags"][0]["id"].as_i64().unwrap(),
    }
}

/// Every JSON-body operation, with a body it would accept.
fn write_endpoints(f: &Fixture) -> Vec<(Method, String, bool, Value)> {
    vec![
        (
            Method::POST,
            "/api/v1/auth/login".into(),
            false,
            json!({"email": "someone@example.com", "password": "a long enough password"}),
        ),
        (
            Method::POST,
            "/api/v1/auth/refresh".into(),
            false,
            json!({"refresh_token": "not-a-real-token"}),
        ),
        (
            Method::POST,
            "/api/v1/admin/articles".into(),
            true,
            json!({"title": "New", "subtitle": "Sub", "body_markdown": "Body", "excerpt": "Ex", "slug": "new-one", "tags": ["t"]}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/articles/{}", f.article_id),
            true,
            json!({"title": "Changed", "subtitle": "Sub", "body_markdown": "Body", "slug": "changed"}),
        ),
        (
            Method::POST,
            "/api/v1/admin/tags".into(),
            true,
            json!({"name": "New tag", "slug": "new-tag", "description": "About"}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/tags/{}", f.tag_id),
            true,
            json!({"name": "Renamed", "description": "About"}),
        ),
        (
            Method::POST,
            "/api/v1/admin/editors".into(),
            true,
            json!({"email": "new@example.com", "name": "New Editor", "role": "author", "password": "a long enough password"}),
        ),
        (
            Method::POST,
            format!("/api/v1/articles/{}/comments", f.slug),
            false,
            json!({"author_name": "Reader", "author_email": "reader@example.com", "author_url": "https://example.com", "body": "Hello"}),
        ),
        (
            Method::POST,
            format!("/api/v1/articles/{}/shares", f.slug),
            false,
            json!({"channel": "email"}),
        ),
    ]
}

fn body_cases(f: &Fixture, limit: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for (method, path, auth, valid) in write_endpoints(f) {
        let valid_text = valid.to_string();
        let bad_request = Expect::Problem(400, "malformed_json");
        let syntax: Vec<(&str, Vec<u8>)> = vec![
            ("empty", b"".to_vec()),
            ("blank", b" \n\t ".to_vec()),
            ("open brace", b"{".to_vec()),
            (
                "truncated",
                valid_text.as_bytes()[..valid_text.len() / 2].to_vec(),
            ),
            (
                "truncated string",
                valid_text.as_bytes()[..valid_text.len() - 3].to_vec(),
            ),
            ("trailing comma", valid_text.replacen('}', ",}", 1).into_bytes()),
            ("trailing garbage", format!("{valid_text}x").into_bytes()),
            ("two documents", format!("{valid_text}{valid_text}").into_bytes()),
            ("single quotes", valid_text.replace('"', "'").into_bytes()),
            ("comment", format!("// hi\n{valid_text}").into_bytes()),
            (
                "byte order mark",
                [b"\xEF\xBB\xBF".as_slice(), valid_text.as_bytes()].concat(),
            ),
            ("invalid utf-8 in a string", b"{\"a\": \"caf\xe9\"}".to_vec()),
            ("invalid utf-8 bytes", vec![0xff, 0xfe, 0xfd]),
            ("overlong utf-8", b"{\"a\": \"\xc0\xaf\"}".to_vec()),
            ("lone surrogate escape", br#"{"a": "\ud800"}"#.to_vec()),
            ("NaN", br#"{"a": NaN}"#.to_vec()),
            ("number overflow", br#"{"a": 1e400}"#.to_vec()),
            (
                "deep nesting",
                format!("{{\"a\": {}{}}}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            ),
            (
                "deep objects",
                format!("{}1{}", "{\"a\":".repeat(300), "}".repeat(300)).into_bytes(),
            ),
            ("raw NUL byte", b"{\"a\": \"x\x00y\"}".to_vec()),
        ];
        for (label, body) in syntax {
            cases.push(
                Case::new(
                    format!("body: {label}"),
                    method.clone(),
                    path.clone(),
                    bad_request.clone(),
                )
                .authed(auth)
                .json_bytes(body),
            );
        }
        for (label, body) in [
            ("array", "[]"),
            ("string", "\"x\""),
            ("null", "null"),
            ("number", "42"),
        ] {
            cases.push(
                Case::new(
                    format!("body: {label}"),
                    method.clone(),
                    path.clone(),
                    Expect::Invalid("body"),
                )
                .authed(auth)
                .json_bytes(body),
            );
        }
        // Nested but within the parser's depth: a wrong type, named.
        let first_field = valid.as_object().unwrap().keys().next().unwrap().clone();
        let mut nested = valid.clone();
        nested[&first_field] =
            serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
        cases.push(
            Case::new(
                "body: nested arrays as a field",
                method.clone(),
                path.clone(),
                Expect::Invalid(leak(&first_field)),
            )
            .authed(auth)
            .json_bytes(nested.to_string()),
        );
        for (label, extra) in [
            ("unknown field", "role"),
            ("prototype pollution", "__proto__"),
            ("id smuggling", "id"),
            ("admin flag", "is_admin"),
        ] {
            if valid.get(extra).is_some() {
                continue;
            }
            let mut body = valid.clone();
            body[extra] = json!({"admin": true});
            cases.push(
                Case::new(
                    format!("body: {label}"),
                    method.clone(),
                    path.clone(),
                    Expect::Invalid(leak(extra)),
                )
                .authed(auth)
                .json_bytes(body.to_string()),
            );
        }
        let mut key_nul = valid.clone();
        key_nul["a\u{0}b"] = json!(1);
        cases.push(
            Case::new(
                "body: NUL in a key",
                method.clone(),
                path.clone(),
                Expect::Problem(422, "validation_failed"),
            )
            .authed(auth)
            .json_bytes(key_nul.to_string()),
        );
        for field in valid.as_object().unwrap().keys() {
            let name = leak(field);
            let values: Vec<(&str, Value)> = vec![
                ("NUL", json!("before\u{0}after")),
                ("only NUL", json!("\u{0}")),
                ("number", json!(12345)),
                (
                    "huge number",
                    serde_json::from_str("99999999999999999999999").unwrap(),
                ),
                ("bool", json!(true)),
                ("object", json!({"$gt": ""})),
                ("array of objects", json!([{"$ne": null}])),
            ];
            for (label, value) in values {
                // `tags` is a list: its errors name an item (`tags[0]`).
                let expect = if field == "tags" {
                    Expect::Problem(422, "validation_failed")
                } else {
                    Expect::Invalid(name)
                };
                let mut body = valid.clone();
                body[field] = if field == "tags" && label.contains("NUL") {
                    json!([value])
                } else {
                    value
                };
                cases.push(
                    Case::new(
                        format!("field `{field}`: {label}"),
                        method.clone(),
                        path.clone(),
                        expect,
                    )
                    .authed(auth)
                    .json_bytes(body.to_string()),
                );
            }
        }
        let huge = format!(r#"{{"a": "{}"}}"#, "x".repeat(limit + 1));
        cases.push(
            Case::new(
                "body: over the size limit",
                method.clone(),
                path.clone(),
                Expect::Problem(413, "payload_too_large"),
            )
            .authed(auth)
            .json_bytes(huge),
        );
        for (label, content_type) in [
            ("text/plain", "text/plain"),
            ("form", "application/x-www-form-urlencoded"),
            ("xml", "application/xml"),
            ("multipart", "multipart/form-data; boundary=x"),
            ("garbage content type", "}{;;"),
        ] {
            cases.push(
                Case::new(
                    format!("content type: {label}"),
                    method.clone(),
                    path.clone(),
                    Expect::Problem(415, "unsupported_media_type"),
                )
                .authed(auth)
                .typed(content_type, valid_text.clone()),
            );
        }
    }
    cases
}

/// Leaks a field name into a `&'static str` for `Expect` (a few bytes per
/// case, in a test process).
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn cursor(text: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// Pagination values that no list accepts, for every list.
fn pagination_cases(f: &Fixture) -> Vec<Case> {
    let lists: Vec<(String, bool, bool)> = vec![
        // (path, needs a token, has cursor mode)
        ("/api/v1/articles".into(), false, true),
        ("/api/v1/tags".into(), false, false),
        (format!("/api/v1/articles/{}/comments", f.slug), false, true),
        ("/api/v1/admin/articles".into(), true, true),
        ("/api/v1/admin/tags".into(), true, false),
        ("/api/v1/admin/comments".into(), true, true),
        ("/api/v1/admin/shares".into(), true, true),
        ("/api/v1/admin/editors".into(), true, false),
    ];
    let values: Vec<(&str, String, Expect)> = vec![
        ("page zero", "page=0".into(), Expect::Invalid("page")),
        ("negative page", "page=-1".into(), Expect::Invalid("page")),
        (
            "huge page",
            "page=99999999999999999999".into(),
            Expect::Invalid("page"),
        ),
        ("u32 max page", "page=4294967295".into(), Expect::Invalid("page")),
        ("fractional page", "page=1.5".into(), Expect::Invalid("page")),
        ("word page", "page=two".into(), Expect::Invalid("page")),
        ("empty page", "page=".into(), Expect::Invalid("page")),
        ("NUL page", "page=%00".into(), Expect::Invalid("page")),
        ("SQL page", "page=1%20OR%201=1".into(), Expect::Invalid("page")),
        ("per_page zero", "per_page=0".into(), Expect::Invalid("per_page")),
        (
            "per_page over max",
            "per_page=101".into(),
            Expect::Invalid("per_page"),
        ),
        (
            "negative per_page",
            "per_page=-5".into(),
            Expect::Invalid("per_page"),
        ),
        (
            "huge per_page",
            "per_page=99999999999999999999".into(),
            Expect::Invalid("per_page"),
        ),
        (
            "hex per_page",
            "per_page=0x10".into(),
            Expect::Invalid("per_page"),
        ),
        ("unknown parameter", "pgae=1".into(), Expect::Invalid("pgae")),
        (
            "SQL in a parameter name",
            "page%3B%20DROP%20TABLE%20articles=1".into(),
            Expect::Problem(422, "validation_failed"),
        ),
        (
            "query over 4 KiB",
            format!("q={}", "a".repeat(5000)),
            Expect::Problem(400, "bad_request"),
        ),
    ];
    let cursors: Vec<(&str, String)> = vec![
        ("not base64", "!!!not*base64".into()),
        ("base64 of nothing known", cursor(b"hello world")),
        ("wrong version", cursor(b"c2:p|2026-01-01T00:00:00|1")),
        ("empty position", cursor(b"c1:")),
        ("bad time", cursor(b"c1:p|yesterday|1")),
        (
            "huge id",
            cursor(b"c1:p|2026-01-01T00:00:00|99999999999999999999"),
        ),
        ("SQL in time", cursor(b"c1:p|2026-01-01T00:00:00' OR '1'='1|1")),
        // Times PostgreSQL cannot store (a 500 `timestamp out of range`
        // once compared), in each list's position format.
        ("far past time", cursor(b"c1:p|-200000-01-01T00:00:00|1")),
        ("far future time", cursor(b"c1:u|+200000-01-01T00:00:00|1")),
        ("far past comment time", cursor(b"c1:-4713-01-01T00:00:00|1")),
        ("year 0 share time", cursor(b"c1:0000-01-01T00:00:00|1")),
        ("SQL in id", cursor(b"c1:p|2026-01-01T00:00:00|1 OR 1=1")),
        ("NUL inside", cursor(b"c1:p|2026-01-01T00:00:00|1\0")),
        ("invalid utf-8 inside", cursor(b"c1:p|\xff\xfe|1")),
        ("NUL", "%00".into()),
        ("over 512 bytes", "A".repeat(600)),
        ("padding", format!("{}==", cursor(b"c1:p|2026-01-01T00:00:00|1"))),
    ];
    let mut cases = Vec::new();
    for (path, auth, cursor_mode) in lists {
        for (label, query, expect) in &values {
            cases.push(
                Case::new(
                    format!("paging: {label}"),
                    Method::GET,
                    format!("{path}?{query}"),
                    expect.clone(),
                )
                .authed(auth),
            );
        }
        // Lists without cursor mode do not know the parameter: also a 422
        // naming it.
        let cursor_expect = Expect::Invalid("cursor");
        for (label, value) in &cursors {
            cases.push(
                Case::new(
                    format!("cursor: {label}"),
                    Method::GET,
                    format!("{path}?cursor={value}"),
                    cursor_expect.clone(),
                )
                .authed(auth),
            );
        }
        if cursor_mode {
            cases.push(
                Case::new(
                    "cursor: with page",
                    Method::GET,
                    format!("{path}?cursor=&page=2"),
                    Expect::Invalid("page"),
                )
                .authed(auth),
            );
        }
    }
    // A cursor of another order is refused, not misread.
    cases.push(Case::new(
        "cursor: from another sort order",
        Method::GET,
        format!("/api/v1/articles?cursor={}", cursor(b"c1:n|5|1")),
        Expect::Invalid("cursor"),
    ));
    cases.push(Case::new(
        "cursor: tampered article cursor on comments",
        Method::GET,
        format!(
            "/api/v1/articles/{}/comments?cursor={}",
            f.slug,
            cursor(b"c1:p|2026-01-01T00:00:00|1")
        ),
        Expect::Invalid("cursor"),
    ));
    cases
}

const SQL_PAYLOADS: [&str; 14] = [
    "' OR '1'='1",
    "'; DROP TABLE articles; --",
    "\" OR \"\"=\"",
    "1) OR (1=1",
    "%' --",
    "\\'",
    "*",
    "NEAR(a b)",
    "title:secret",
    "\"unterminated",
    "secret OR draft",
    "^secret",
    "$$ SELECT 1 $$",
    "1; SELECT pg_sleep(5)",
];

fn query_text_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (path, auth) in [("/api/v1/articles", false), ("/api/v1/admin/articles", true)] {
        for payload in SQL_PAYLOADS {
            let encoded: String = form_urlencoded::byte_serialize(payload.as_bytes()).collect();
            // Text filters either match nothing or are refused; never a fault,
            // and public lists never reveal the draft.
            for param in ["q", "tag", "author"] {
                cases.push(
                    Case::new(
                        format!("{param}: {payload}"),
                        Method::GET,
                        format!("{path}?{param}={encoded}"),
                        Expect::Safe,
                    )
                    .authed(auth),
                );
            }
            for param in ["sort", "fields"] {
                cases.push(
                    Case::new(
                        format!("{param}: {payload}"),
                        Method::GET,
                        format!("{path}?{param}={encoded}"),
                        Expect::Invalid(param),
                    )
                    .authed(auth),
                );
            }
            for param in ["from", "to"] {
                cases.push(
                    Case::new(
                        format!("{param}: {payload}"),
                        Method::GET,
                        format!("{path}?{param}={encoded}"),
                        Expect::Invalid(param),
                    )
                    .authed(auth),
                );
            }
        }
        for param in ["q", "tag", "author", "sort", "fields", "cursor", "from", "to"] {
            cases.push(
                Case::new(
                    format!("{param}: NUL"),
                    Method::GET,
                    format!("{path}?{param}=a%00b"),
                    Expect::Invalid(param),
                )
                .authed(auth),
            );
            cases.push(
                Case::new(
                    format!("{param}: invalid UTF-8"),
                    Method::GET,
                    format!("{path}?{param}=%ff%fe"),
                    Expect::Safe,
                )
                .authed(auth),
            );
        }
        cases.push(
            Case::new(
                "duplicate parameter",
                Method::GET,
                format!("{path}?sort=-published_at&sort=published_at"),
                Expect::Safe,
            )
            .authed(auth),
        );
        cases.push(
            Case::new(
                "fields: wildcard",
                Method::GET,
                format!("{path}?fields=*"),
                Expect::Invalid("fields"),
            )
            .authed(auth),
        );
        cases.push(
            Case::new(
                "fields: password hash",
                Method::GET,
                format!("{path}?fields=id,password_hash"),
                Expect::Invalid("fields"),
            )
            .authed(auth),
        );
    }
    let encode = |v: &str| -> String { form_urlencoded::byte_serialize(v.as_bytes()).collect() };
    for (param, value) in [("status", "' OR 1=1"), ("article_id", "1 OR 1=1"), ("q", "a\0")] {
        let value = encode(value);
        cases.push(
            Case::new(
                format!("admin comments {param}"),
                Method::GET,
                format!("/api/v1/admin/comments?{param}={value}"),
                Expect::Invalid(param),
            )
            .authed(true),
        );
    }
    for (param, value) in [
        ("channel", "email' OR '1'='1"),
        ("article_id", "1;DROP"),
        ("from", "2026-13-45"),
        ("to", "\0"),
    ] {
        let value = encode(value);
        cases.push(
            Case::new(
                format!("admin shares {param}"),
                Method::GET,
                format!("/api/v1/admin/shares?{param}={value}"),
                Expect::Invalid(param),
            )
            .authed(true),
        );
    }
    cases
}

/// Slugs that must name nothing: traversal, encodings, invisible and
/// look-alike characters. Percent-encoded as a client would send them.
const HOSTILE_SLUGS: [(&str, &str); 22] = [
    ("dot dot", ".."),
    ("traversal", "..%2F..%2Fetc%2Fpasswd"),
    ("encoded dots", "%2e%2e"),
    ("double encoded", "%252e%252e%252f"),
    ("backslash traversal", "..%5C..%5Cwindows"),
    ("NUL", "%00"),
    ("NUL inside", "hostile%00target"),
    ("NUL suffix", "hostile-target%00.json"),
    ("RTL override", "%E2%80%AEtegrat-elitsoh"),
    ("zero-width space", "hostile%E2%80%8B-target"),
    ("zero-width joiner", "hostile-target%E2%80%8D"),
    ("BOM", "%EF%BB%BFhostile-target"),
    ("Cyrillic o homoglyph", "h%D0%BEstile-target"),
    ("fullwidth letters", "%EF%BD%88ostile-target"),
    ("overlong dot", "%C0%AE%C0%AE"),
    ("invalid UTF-8", "%ff%fe"),
    ("upper case", "HOSTILE-TARGET"),
    ("trailing space", "hostile-target%20"),
    ("SQL", "hostile-target'%20OR%20'1'='1"),
    ("LIKE wildcard", "hostile%25"),
    ("semicolon", "hostile-target;drop"),
    (
        "over long",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ),
];

fn path_cases(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    let not_found = Expect::Problem(404, "not_found");
    for (label, slug) in HOSTILE_SLUGS {
        for route in [
            "/api/v1/articles/{}",
            "/api/v1/tags/{}",
            "/api/v1/articles/{}/comments",
            "/api/v1/articles/{}/comments/1",
            "/api/v1/articles/{}/shares",
        ] {
            let path = route.replace("{}", slug);
            cases.push(Case::new(
                format!("slug: {label}"),
                Method::GET,
                path,
                not_found.clone(),
            ));
        }
        cases.push(
            Case::new(
                format!("slug: {label}"),
                Method::POST,
                format!("/api/v1/articles/{slug}/comments"),
                not_found.clone(),
            )
            .json_bytes(
                json!({"author_name": "R", "author_email": "r@example.com", "body": "Hi"}).to_string(),
            ),
        );
        cases.push(
            Case::new(
                format!("slug: {label}"),
                Method::POST,
                format!("/api/v1/articles/{slug}/shares"),
                not_found.clone(),
            )
            .json_bytes(json!({"channel": "email"}).to_string()),
        );
    }
    let _ = f;
    for (label, id) in [
        ("negative id", "-1"),
        ("zero id", "0"),
        ("huge id", "99999999999999999999"),
        ("float id", "1.0"),
        ("exponent id", "1e3"),
        ("hex id", "0x1"),
        ("NUL id", "1%00"),
        ("SQL id", "1%20OR%201=1"),
        ("traversal id", "..%2F1"),
    ] {
        for route in [
            "/api/v1/admin/articles/{}",
            "/api/v1/admin/tags/{}",
            "/api/v1/admin/comments/{}",
            "/api/v1/admin/editors/{}",
        ] {
            let path = route.replace("{}", id);
            cases.push(
                Case::new(
                    format!("id: {label}"),
                    Method::GET,
                    path.clone(),
                    not_found.clone(),
                )
                .authed(true),
            );
            cases.push(
                Case::new(
                    format!("id: {label}"),
                    Method::DELETE,
                    path.clone(),
                    not_found.clone(),
                )
                .authed(true),
            );
            // A PATCH may be refused for its (empty) body first: any 4xx.
            cases.push(
                Case::new(format!("id: {label}"), Method::PATCH, path, Expect::Refused)
                    .authed(true)
                    .json_bytes("{}"),
            );
        }
        cases.push(
            Case::new(
                format!("id: {label}"),
                Method::DELETE,
                format!("/api/v1/admin/shares/{id}"),
                not_found.clone(),
            )
            .authed(true),
        );
    }
    cases
}

/// Slugs and names in bodies: every hostile slug is a 422 naming `slug`.
fn body_slug_cases(f: &Fixture) -> Vec<Case> {
    let slugs = [
        "../x",
        "..",
        "%2e%2e",
        "a/b",
        "\u{202e}gnp",
        "a\u{200b}b",
        "h\u{043e}stile",
        "\u{ff48}ostile",
        "Upper",
        "a--b",
        "-a",
        "a-",
        "a b",
        "a.b",
        "<script>",
        "",
        "   ",
        "a\u{0}b",
    ];
    let long = "a".repeat(500);
    let mut cases = Vec::new();
    for slug in slugs.iter().copied().chain([long.as_str()]) {
        let label = format!("body slug {slug:?}");
        cases.push(
            Case::new(
                label.clone(),
                Method::POST,
                "/api/v1/admin/articles",
                Expect::Invalid("slug"),
            )
            .authed(true)
            .json_bytes(json!({"title": "Fine", "slug": slug}).to_string()),
        );
        cases.push(
            Case::new(
                label.clone(),
                Method::PATCH,
                format!("/api/v1/admin/articles/{}", f.article_id),
                Expect::Invalid("slug"),
            )
            .authed(true)
            .json_bytes(json!({"slug": slug}).to_string()),
        );
        cases.push(
            Case::new(
                label.clone(),
                Method::POST,
                "/api/v1/admin/tags",
                Expect::Invalid("slug"),
            )
            .authed(true)
            .json_bytes(json!({"name": "Fine", "slug": slug}).to_string()),
        );
        cases.push(
            Case::new(
                label,
                Method::PATCH,
                format!("/api/v1/admin/tags/{}", f.tag_id),
                Expect::Invalid("slug"),
            )
            .authed(true)
            .json_bytes(json!({"slug": slug}).to_string()),
        );
    }
    // Titles and names with nothing a slug could be made of.
    for (label, text) in [
        ("invisible only", "\u{200b}\u{200d}\u{feff}"),
        ("RTL override only", "\u{202e}\u{202d}"),
        ("control characters", "bad\u{7}title"),
    ] {
        cases.push(
            Case::new(
                format!("title: {label}"),
                Method::POST,
                "/api/v1/admin/articles",
                Expect::Problem(422, "validation_failed"),
            )
            .authed(true)
            .json_bytes(json!({"title": text}).to_string()),
        );
        cases.push(
            Case::new(
                format!("tag name: {label}"),
                Method::POST,
                "/api/v1/admin/tags",
                Expect::Problem(422, "validation_failed"),
            )
            .authed(true)
            .json_bytes(json!({"name": text}).to_string()),
        );
        cases.push(
            Case::new(
                format!("article tags: {label}"),
                Method::POST,
                "/api/v1/admin/articles",
                Expect::Problem(422, "validation_failed"),
            )
            .authed(true)
            .json_bytes(json!({"title": "Fine", "tags": [text]}).to_string()),
        );
    }
    cases
}

/// Dates outside the years 1970–9999 (PostgreSQL answered 500 `timestamp
/// out of range` before), bidirectional controls and mixed-script tag
/// names, and bodies nested past the Markdown limit: each a 422 naming its
/// field, nothing written.
fn date_and_nesting_cases(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    let queries = [
        ("/api/v1/articles?from=-200000-01-01", "from", false),
        ("/api/v1/articles?to=0001-01-01", "to", false),
        ("/api/v1/articles?from=1969-12-31T23:59:59Z", "from", false),
        ("/api/v1/articles?from=-4713-01-01T00:00:00Z", "from", false),
        ("/api/v1/admin/shares?from=0001-01-01", "from", true),
        ("/api/v1/admin/shares?to=1900-01-01T00:00:00Z", "to", true),
        (
            "/api/v1/admin/shares/stats?from=0001-01-01&to=0001-01-02",
            "from",
            true,
        ),
        ("/api/v1/admin/shares/stats?to=1969-12-31", "to", true),
    ];
    for (path, field, auth) in queries {
        cases.push(Case::new(format!("date {path}"), Method::GET, path, Expect::Invalid(field)).authed(auth));
    }
    let article = format!("/api/v1/admin/articles/{}", f.article_id);
    for when in [
        "-4713-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
    ] {
        cases.push(
            Case::new(
                format!("create published_at {when}"),
                Method::POST,
                "/api/v1/admin/articles",
                Expect::Invalid("published_at"),
            )
            .authed(true)
            .json_bytes(json!({"title": "Old", "status": "published", "published_at": when}).to_string()),
        );
        cases.push(
            Case::new(
                format!("patch published_at {when}"),
                Method::PATCH,
                article.clone(),
                Expect::Invalid("published_at"),
            )
            .authed(true)
            .json_bytes(json!({"published_at": when}).to_string()),
        );
    }
    // Bidirectional overrides and isolates (refused in every text field and
    // URL) and tag names mixing scripts.
    let comments = format!("/api/v1/articles/{}/comments", f.slug);
    let text_cases: Vec<(&str, Method, String, Value, &'static str)> = vec![
        (
            "comment body U+202E",
            Method::POST,
            comments.clone(),
            json!({"author_name": "Ana", "author_email": "a@example.com", "body": "see \u{202e}gpj.exe"}),
            "body",
        ),
        (
            "comment name U+2066",
            Method::POST,
            comments.clone(),
            json!({"author_name": "\u{2066}Ana", "author_email": "a@example.com", "body": "Hi."}),
            "author_name",
        ),
        (
            "comment url U+202D",
            Method::POST,
            comments,
            json!({"author_name": "Ana", "author_email": "a@example.com", "body": "Hi.", "author_url": "https://a.example/\u{202d}x"}),
            "author_url",
        ),
        (
            "article title U+202E",
            Method::POST,
            "/api/v1/admin/articles".into(),
            json!({"title": "Cheap \u{202e}seotamot"}),
            "title",
        ),
        (
            "tag name U+2069",
            Method::POST,
            "/api/v1/admin/tags".into(),
            json!({"name": "News\u{2069}"}),
            "name",
        ),
        (
            "tag name mixing scripts",
            Method::POST,
            "/api/v1/admin/tags".into(),
            json!({"name": "\u{421}ities"}),
            "name",
        ),
        (
            "article tag mixing scripts",
            Method::PATCH,
            article.clone(),
            json!({"tags": ["\u{421}ities"]}),
            "tags[0]",
        ),
    ];
    for (name, method, path, body, field) in text_cases {
        cases.push(
            Case::new(name, method, path, Expect::Invalid(field))
                .authed(true)
                .json_bytes(body.to_string()),
        );
    }
    let nested = [
        ("quotes", format!("{} deep", ">".repeat(32_000))),
        ("spaced quotes", format!("{} deep", "> ".repeat(20_000))),
        ("lists", format!("{} deep", "- ".repeat(20_000))),
        ("divs", "<div>".repeat(32_000)),
        (
            "quotes over lines",
            (1..=100).map(|n| ">".repeat(n) + " x\n").collect(),
        ),
    ];
    for (shape, body) in nested {
        cases.push(
            Case::new(
                format!("create nested {shape}"),
                Method::POST,
                "/api/v1/admin/articles",
                Expect::Invalid("body_markdown"),
            )
            .authed(true)
            .json_bytes(json!({"title": "Deep", "body_markdown": body}).to_string()),
        );
        cases.push(
            Case::new(
                format!("patch nested {shape}"),
                Method::PATCH,
                article.clone(),
                Expect::Invalid("body_markdown"),
            )
            .authed(true)
            .json_bytes(json!({"body_markdown": body}).to_string()),
        );
    }
    cases
}

async fn dates_out_of_range_bidi_and_deep_nesting_are_invalid(app: TestApp) {
    let f = fixture(&app).await;
    run(&app, &f.token, f.article_id, f.tag_id, date_and_nesting_cases(&f)).await;
}

/// 32,000 nested `>` or `<div>` took seconds to render (quadratic); now
/// refused before rendering, on POST and PATCH alike, well within a second.
async fn pathological_markdown_is_refused_fast(app: TestApp) {
    let f = fixture(&app).await;
    // `/>` opens a non-void element, and `<` in a quoted value starts no
    // tag: both nest as deep as `<div>` (33k `<div/>` rendered in 8.7 s).
    for body in [
        ">".repeat(32_000) + " x",
        "<div>".repeat(32_000),
        "<div/>".repeat(33_333),
        "<div title=\"<\">".repeat(12_500),
        "<blockquote/>".repeat(15_000),
    ] {
        let started = std::time::Instant::now();
        app.post("/api/v1/admin/articles")
            .bearer(&f.token)
            .json(json!({"title": "Deep", "body_markdown": body}))
            .send()
            .await
            .invalid_field("body_markdown");
        app.patch(&format!("/api/v1/admin/articles/{}", f.article_id))
            .bearer(&f.token)
            .json(json!({"body_markdown": body}))
            .send()
            .await
            .invalid_field("body_markdown");
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(1),
            "two refusals took {took:?}"
        );
    }
    // Ordinary nesting still renders.
    let fine = "> > quoted quote\n\n- a\n  - b\n    - c\n\n<div><div><p>ok</p></div></div>";
    let res = app
        .patch(&format!("/api/v1/admin/articles/{}", f.article_id))
        .bearer(&f.token)
        .json(json!({"body_markdown": fine}))
        .send()
        .await;
    res.assert_status(200);
    assert!(res.json()["body_html"].as_str().unwrap().contains("<blockquote>"));
}

async fn malformed_bodies_are_refused_without_a_trace(app: TestApp) {
    let f = fixture(&app).await;
    let limit = app.parts.state.config.max_body_bytes;
    run(&app, &f.token, f.article_id, f.tag_id, body_cases(&f, limit)).await;
}

async fn hostile_query_parameters_are_refused_or_harmless(app: TestApp) {
    let f = fixture(&app).await;
    let mut cases = pagination_cases(&f);
    cases.extend(query_text_cases());
    run(&app, &f.token, f.article_id, f.tag_id, cases).await;
}

async fn hostile_paths_name_nothing(app: TestApp) {
    let f = fixture(&app).await;
    run(&app, &f.token, f.article_id, f.tag_id, path_cases(&f)).await;
}

async fn hostile_slugs_and_names_in_bodies_are_invalid(app: TestApp) {
    let f = fixture(&app).await;
    run(&app, &f.token, f.article_id, f.tag_id, body_slug_cases(&f)).await;
}

const SCRIPT_PAYLOADS: [&str; 8] = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "\"><script>alert(1)</script>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "'; DROP TABLE articles; --",
];

/// Text that looks like code is stored as given (it is text), and every
/// HTML the API renders from it is inert.
async fn script_and_sql_in_text_fields_are_stored_inert(app: TestApp) {
    let token = app.admin_token().await;
    for (i, payload) in SCRIPT_PAYLOADS.iter().enumerate() {
        let body_markdown = format!(
            "Intro {payload}\n\n[link]({payload})\n\n<a href=\"{payload}\" onclick=\"{payload}\">x</a>\n\n{payload}"
        );
        let res = app
            .post("/api/v1/admin/articles")
            .bearer(&token)
            .json(json!({
                "title": format!("Title {i} {payload}"),
                "subtitle": payload,
                "excerpt": payload,
                "body_markdown": body_markdown,
                "tags": [format!("tag {i} {payload}")],
                "status": "published",
            }))
            .send()
            .await;
        res.assert_status(201);
        let article = res.json();
        assert_eq!(
            article["title"],
            format!("Title {i} {payload}"),
            "title kept verbatim"
        );
        assert_eq!(article["subtitle"], *payload);
        assert_eq!(article["excerpt"], *payload);
        assert_eq!(article["body_markdown"], body_markdown);
        let slug = article["slug"].as_str().unwrap();
        broadsheet::domain::slug::validate(slug).unwrap_or_else(|e| panic!("slug {slug:?}: {e}"));
        let tag_slug = article["tags"][0]["slug"].as_str().unwrap();
        broadsheet::domain::slug::validate(tag_slug).unwrap_or_else(|e| panic!("tag slug {tag_slug:?}: {e}"));
        assert_inert(article["body_html"].as_str().unwrap(), payload);

        let public = app.get(&format!("/api/v1/articles/{slug}")).send().await;
        public.assert_status(200);
        assert!(
            public
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        );
        assert_inert(public.json()["body_html"].as_str().unwrap(), payload);

        let res = app
            .post(&format!("/api/v1/articles/{slug}/comments"))
            .json(json!({
                "author_name": payload,
                "author_email": "reader@example.com",
                "body": format!("{payload}\n\nsee https://example.com/?q={payload}"),
            }))
            .send()
            .await;
        assert!(res.status.is_success(), "{payload}: {}", res.text());
        let comment = res.json();
        assert_eq!(comment["author_name"], *payload);
        let html = comment["body_html"].as_str().unwrap();
        for tag in ["<script", "<img", "<svg", "<iframe", "<a href=\"javascript"] {
            assert!(
                !html.to_ascii_lowercase().contains(tag),
                "{payload}: comment html {html}"
            );
        }
        assert!(
            !payload.contains('<') || html.contains("&lt;"),
            "{payload}: escaped in {html}"
        );
    }
    // The SQL payload did nothing: every article is still there.
    let list = app.get("/api/v1/articles?per_page=100").send().await;
    list.assert_status(200);
    assert_eq!(list.json()["meta"]["total"], SCRIPT_PAYLOADS.len());
}

/// No script element, no event handler attribute, no `javascript:` URL
/// (the same check as the sanitiser's property tests).
fn assert_inert(html: &str, payload: &str) {
    assert!(
        !html.to_ascii_lowercase().contains("<script"),
        "{payload}: {html}"
    );
    if let Some(problem) = broadsheet::domain::markdown::unsafe_markup(html) {
        panic!("{payload}: {problem} in {html}");
    }
}

backend_tests!(
    dates_out_of_range_bidi_and_deep_nesting_are_invalid,
    pathological_markdown_is_refused_fast,
    malformed_bodies_are_refused_without_a_trace,
    hostile_query_parameters_are_refused_or_harmless,
    hostile_paths_name_nothing,
    hostile_slugs_and_names_in_bodies_are_invalid,
    script_and_sql_in_text_fields_are_stored_inert,
);
