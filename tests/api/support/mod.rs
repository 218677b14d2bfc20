//! Test harness: the real application built in-process on a fresh database,
//! typed request helpers, and `backend_tests!`, which runs each test against
//! SQLite and against PostgreSQL (`TEST_DATABASE_URL`).
//!
//! Without `TEST_DATABASE_URL` the PostgreSQL halves cannot run: each says
//! `SKIPPED (no PostgreSQL)` on stderr, and fails instead when
//! `REQUIRE_POSTGRES=1` (as in `.ci/run`), so a CI without PostgreSQL never
//! passes them unseen. Settings given to `backend_tests_with!` must be keys
//! the configuration reads (`settings`): a misspelt one fails the test.

pub mod db;
pub mod settings;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header::HeaderMap};
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use broadsheet::{AppParts, build_app, server};
use futures_util::future::LocalBoxFuture;
use serde_json::{Value, json};

pub use db::{Backend, TestDb, report_skipped};

pub const ADMIN_EMAIL: &str = "root@example.com";
pub const PASSWORD: &str = "a long test passphrase";

type Call = Rc<dyn Fn(actix_http::Request) -> LocalBoxFuture<'static, TestResponse>>;

/// The application under test, on its own database.
pub struct TestApp {
    call: Call,
    pub parts: AppParts,
    pub backend: Backend,
    pub db: TestDb,
}

/// Runs each named `async fn name(app: TestApp)` once per backend, as
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    super::$name($crate::support::TestApp::new($crate::support::Backend::Sqlite).await).await
                }
                #[actix_web::test]
                async fn postgres() {
                    if let Some(app) = $crate::support::TestApp::try_new($crate::support::Backend::Postgres, &[]).await {
                        super::$name(app).await
                    }
                }
            }
        )*
    };
}

/// Like `backend_tests!` with extra configuration for every app:
/// `backend_tests_with!([("COMMENT_MODERATION", "none")], test_a, test_b);`
#[macro_export]
macro_rules! backend_tests_with {
    ($vars:expr, $($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[actix_web::test]
                async fn sqlite() {
                    let app = $crate::support::TestApp::try_new($crate::support::Backend::Sqlite, &$vars).await.unwrap();
                    super::$name(app).await
                }
                #[actix_web::test]
                async fn postgres() {
                    if let Some(app) = $crate::support::TestApp::try_new($crate::support::Backend::Postgres, &$vars).await {
                        super::$name(app).await
                    }
                }
            }
        )*
    };
}

/// Settings for tests: a fixed secret, no demo content, no rate limits
/// (tests of limits switch them on).
/// Creates an article through `POST /api/v1/admin/articles` as `token`,
/// expects `201`, and returns the body.
pub async fn create_article(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .post("/api/v1/admin/articles")
        .bearer(token)
        .json(body)
        .send()
        .await;
    res.assert_status(201);
    res.json()
}

/// `s` as a query string value.
pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn test_vars(db_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", db_url),
        ("JWT_SECRET", "test-secret-test-secret-test-secret-0123"),
        ("DEMO_CONTENT", "false"),
        ("RATE_LIMIT_COMMENTS_PER_MINUTE", "0"),
        ("RATE_LIMIT_SHARES_PER_MINUTE", "0"),
        ("RATE_LIMIT_LOGIN_PER_MINUTE", "0"),
        ("SHARE_DEDUP_SECONDS", "0"),
        ("DB_TIMEOUT_SECONDS", "3"),
        // Counters exact, unless a test studies their lag.
        ("COUNTS_MAX_LAG_SECONDS", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl TestApp {
    /// An app on `backend`; panics when PostgreSQL is asked for but not configured.
    pub async fn new(backend: Backend) -> TestApp {
        Self::try_new(backend, &[]).await.expect("backend available")
    }

    /// An app on `backend` with extra settings; `None` (reported as skipped)
    /// when it is PostgreSQL and `TEST_DATABASE_URL` is unset. Panics when
    /// a key of `extra` is not a setting (see `settings`).
    pub async fn try_new(backend: Backend, extra: &[(&str, &str)]) -> Option<TestApp> {
        // Warnings and errors show in a failing test's captured output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .try_init();
        let db = TestDb::for_backend(backend)?;
        let mut vars = test_vars(db.url());
        for (k, v) in extra {
            vars.insert(k.to_string(), v.to_string());
        }
        let overrides: Vec<&str> = extra.iter().map(|(k, _)| *k).collect();
        let config = settings::config_from(&vars, &overrides).expect("test config");
        let parts = server::prepare(config).await.expect("app prepares");
        let service = Rc::new(actix_web::test::init_service(build_app(parts.clone())).await);
        let call: Call = Rc::new(move |req| {
            let service = service.clone();
            Box::pin(async move {
                match service.call(req).await {
                    Ok(res) => TestResponse::from_service(res).await,
                    Err(err) => TestResponse::from_error(err),
                }
            })
        });
        Some(TestApp {
            call,
            parts,
            backend,
            db,
        })
    }

    /// Runs `attempt` until one run saw the response cache in step with the
    /// change log from its start to its end, and returns what that run
    /// observed (tests of what the cache keeps count hits).
    ///
    /// When the follower's poll is held past `SYNC_BOUND` (a loaded CI box
    /// running hundreds of tests on two cores), the cache is bypassed and
    /// may be emptied: the designed fault behaviour, tested in
    /// `freshness`, and not what a hit-counting test studies; such a run
    /// is discarded. Panics when five runs in a row were disturbed. A
    /// lapse that neither a lookup nor an eviction saw (a fill refused in
    /// between two lookups) is not detected: it can fail a run, never
    /// pass one.
    pub async fn with_cache_in_sync<T, F, Fut>(&self, mut attempt: F) -> T
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        use broadsheet::infra::response_cache::Cause;
        let stats = self.parts.state.cache.stats();
        let disturbed = || stats.bypassed() + stats.evictions(Cause::Unsynced);
        for n in 0..5 {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !stats.in_sync() && std::time::Instant::now() < deadline {
                actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let before = disturbed();
            let seen = attempt(n).await;
            if disturbed() == before {
                return seen;
            }
            eprintln!("run {n} saw the response cache out of step with the change log; again");
        }
        panic!("the response cache fell out of step with the change log in five runs in a row");
    }

    pub fn request(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            inner: TestRequest::default().method(method).uri(path),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.request(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Req<'_> {
        self.request(Method::POST, path)
    }
    pub fn patch(&self, path: &str) -> Req<'_> {
        self.request(Method::PATCH, path)
    }
    pub fn put(&self, path: &str) -> Req<'_> {
        self.request(Method::PUT, path)
    }
    pub fn delete(&self, path: &str) -> Req<'_> {
        self.request(Method::DELETE, path)
    }

    /// Creates an editor straight through the service layer (no HTTP, no
    /// admin token needed) and returns its id.
    pub async fn create_editor(&self, email: &str, role: &str) -> i64 {
        let role = broadsheet::domain::Role::parse(role).expect("role");
        let row = broadsheet::service::editors::create(
            &self.parts.state.db,
            broadsheet::service::editors::NewEditorInput {
                email: email.to_string(),
                name: email.split('@').next().unwrap_or("someone").replace('.', " "),
                slug: None,
                bio: None,
                role,
                password: PASSWORD.to_string(),
            },
        )
        .await
        .expect("create editor");
        row.id
    }

    /// Inserts an article straight into the database (no HTTP) and returns
    /// `(id, slug)`. `published` articles get `published_at` = now.
    #[allow(dead_code)] // for the comment and share tests
    pub async fn create_article(&self, author_id: i64, title: &str, status: &str) -> (i64, String) {
        let title = title.to_string();
        let status = broadsheet::domain::article::ArticleStatus::parse(status).expect("a status");
        let row = self
            .parts
            .state
            .db
            .write(move |conn| {
                let now = broadsheet::domain::date::now();
                let body = format!("Body of {title}.");
                let new = broadsheet::db::articles::NewArticle {
                    slug: broadsheet::domain::slug::slugify(&title),
                    title,
                    subtitle: None,
                    excerpt: body.clone(),
                    excerpt_custom: false,
                    body_html: format!("<p>{body}</p>"),
                    body_markdown: body,
                    published_at: (status == broadsheet::domain::article::ArticleStatus::Published)
                        .then_some(now),
                    status,
                    author_id,
                    featured_image_url: None,
                    featured_image_meta: None,
                    featured: false,
                    seo: "{}".to_string(),
                    pull_quotes: "[]".to_string(),
                    body_text: None,
                    word_count: 3,
                    reading_time_minutes: 1,
                    comments_enabled: true,
                    created_at: now,
                    updated_at: now,
                };
                Ok(broadsheet::db::articles::insert_unique(conn, new, false)?.expect("slug"))
            })
            .await
            .expect("insert article");
        (row.id, row.slug)
    }

    /// Signs in and returns the full token response.
    pub async fn login(&self, email: &str) -> Value {
        let res = self
            .post("/api/v1/auth/login")
            .json(json!({"email": email, "password": PASSWORD}))
            .send()
            .await;
        assert_eq!(res.status, StatusCode::OK, "login of {email}: {}", res.text());
        res.json()
    }

    /// Creates an editor with `role` and returns an access token for it.
    pub async fn token_for(&self, email: &str, role: &str) -> String {
        self.create_editor(email, role).await;
        self.login(email).await["access_token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// An access token of a fresh admin.
    pub async fn admin_token(&self) -> String {
        self.token_for(ADMIN_EMAIL, "admin").await
    }
}

/// A request being built.
pub struct Req<'a> {
    app: &'a TestApp,
    inner: TestRequest,
}

impl Req<'_> {
    pub fn json(mut self, body: Value) -> Self {
        self.inner = self.inner.set_json(body);
        self
    }
    /// A raw body with the given content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.inner = self
            .inner
            .insert_header(("content-type", content_type))
            .set_payload(body.into());
        self
    }
    pub fn bearer(mut self, token: &str) -> Self {
        self.inner = self
            .inner
            .insert_header(("authorization", format!("Bearer {token}")));
        self
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.inner = self.inner.insert_header((name.to_string(), value.to_string()));
        self
    }
    pub fn peer(mut self, addr: &str) -> Self {
        let addr: SocketAddr = addr.parse().expect("socket address");
        self.inner = self.inner.peer_addr(addr);
        self
    }
    pub async fn send(self) -> TestResponse {
        (self.app.call)(self.inner.to_request()).await
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    async fn from_service<B: MessageBody + 'static>(res: ServiceResponse<B>) -> TestResponse {
        let res = res.map_into_boxed_body();
        let status = res.status();
        let headers = res.headers().clone();
        let body: BoxBody = res.into_body();
        let body = actix_web::body::to_bytes(body).await.unwrap_or_default();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    fn from_error(err: actix_web::Error) -> TestResponse {
        let res = err.error_response();
        let status = res.status();
        let headers = res.headers().clone();
        TestResponse {
            status,
            headers,
            body: Bytes::new(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json response with this status and code; returns it.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "problem content type; body: {}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["code"], code, "problem code; body: {body}");
        assert_eq!(body["status"], status);
        assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
        assert_eq!(body["type"], format!("urn:broadsheet:problem:{code}"));
        body
    }

    /// Asserts a 422 naming `field` among its errors.
    pub fn invalid_field(&self, field: &str) -> Value {
        let body = self.problem(422, "validation_failed");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .expect("errors array")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            fields.contains(&field),
            "expected an error on `{field}`, got {fields:?}"
        );
        body
    }

    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}

/// The harness's own traps, closed.
mod harness {
    use super::{Backend, TestApp, db::refuse_skip_if};

    #[actix_web::test]
    #[should_panic(expected = "not read by Config::from_lookup")]
    async fn a_misspelt_setting_fails_the_test() {
        TestApp::try_new(Backend::Sqlite, &[("RATE_LIMIT_LOGIN_PER_MINUT", "3")]).await;
    }

    #[actix_web::test]
    async fn a_known_setting_is_accepted() {
        let app = TestApp::try_new(Backend::Sqlite, &[("RATE_LIMIT_LOGIN_PER_MINUTE", "3")]).await;
        assert!(app.is_some());
    }

    #[test]
    #[should_panic(expected = "REQUIRE_POSTGRES=1")]
    fn a_required_postgres_half_cannot_skip() {
        refuse_skip_if(true, "some_test::postgres");
    }

    #[test]
    fn an_optional_postgres_half_may_skip() {
        refuse_skip_if(false, "some_test::postgres");
    }
}
