//! Demo content for a fresh development database, all of it in this one
//! module: three editors, opinion articles (headline, standfirst,
//! paragraphs, a pull quote) with tags, comments and share events. Loaded
//! only into an empty database, and never in production (the configuration
//! refuses `DEMO_CONTENT` there).

use chrono::{Duration, SubsecRound, TimeDelta};
use rand::Rng;

use crate::auth::{CurrentEditor, password};
use crate::db::comments::{CommentRow, NewComment};
use crate::db::shares::NewShareEvent;
use crate::db::{self, Db, DbConnection};
use crate::domain::Role;
use crate::domain::article::ArticleStatus;
use crate::domain::comment::{self, CommentStatus};
use crate::domain::presentation::FeaturedImage;
use crate::domain::share::ShareChannel;
use crate::error::AppError;
use crate::service::articles::{self, NewArticleInput};
use crate::service::editors::insert_editor;
use crate::service::render::Renderer;

mod stories;

use stories::{ARTICLES, IMAGE_BASE};

pub const DEMO_ADMIN_EMAIL: &str = "admin@broadsheet.test";

/// Seeds when the database has no editor yet. The demo admin's password is
/// `DEMO_ADMIN_PASSWORD` when set, else random; it is printed once, here.
pub async fn seed_if_empty(
    db: &Db,
    renderer: &Renderer,
    admin_password: Option<&str>,
) -> Result<(), AppError> {
    if db.read(|conn| Ok(db::editors::count(conn)?)).await? > 0 {
        return Ok(());
    }
    let admin_password = admin_password
        .map(str::to_string)
        .unwrap_or_else(|| crate::auth::refresh::generate()[..20].to_string());
    let authors = seed_editors(db, &admin_password).await?;

    // The desk creates the tags first: authors may only use existing ones.
    let tag_names: Vec<String> = ARTICLES
        .iter()
        .flat_map(|a| a.tags.iter().map(|t| t.to_string()))
        .collect();
    db.write(move |conn| crate::service::tags::find_or_create(conn, true, &tag_names))
        .await?;

    let now = chrono::Utc::now();
    let mut published = Vec::new();
    for demo in ARTICLES {
        let author = authors[demo.author.min(authors.len() - 1)].clone();
        let input = NewArticleInput {
            title: demo.title.to_string(),
            subtitle: Some(demo.subtitle.to_string()),
            body_markdown: demo.body.to_string(),
            excerpt: None,
            slug: None,
            status: demo.status,
            tags: demo.tags.iter().map(|t| t.to_string()).collect(),
            featured_image: demo.image.as_ref().map(|image| FeaturedImage {
                url: format!("{IMAGE_BASE}{}", image.file),
                alt: Some(image.alt.to_string()),
                caption: image.caption.map(str::to_string),
                credit: Some(image.credit.to_string()),
                width: Some(1600),
                height: Some(900),
            }),
            featured: demo.featured,
            seo: Default::default(),
            comments_enabled: true,
            published_at: (demo.status == ArticleStatus::Published).then(|| {
                (now - Duration::hours(demo.hours_ago))
                    .naive_utc()
                    .trunc_subsecs(0)
            }),
        };
        let view = articles::create(db, renderer, author, input).await?;
        if demo.status == ArticleStatus::Published && demo.hours_ago >= 0 {
            published.push(view.article.id);
        }
    }
    db.write(move |conn| {
        seed_comments(conn, &published)?;
        seed_shares(conn, &published)
    })
    .await?;

    // Printed, not logged: log pipelines must never carry a password.
    println!();
    println!("  Demo content loaded. Sign in as the demo admin:");
    println!("    email:    {DEMO_ADMIN_EMAIL}");
    println!("    password: {admin_password}");
    println!("  (shown once; delete the database file to start over)");
    println!();
    Ok(())
}

/// The three demo editors (admin, editor, author), in that order.
async fn seed_editors(db: &Db, admin_password: &str) -> Result<Vec<CurrentEditor>, AppError> {
    let people = [
        (
            DEMO_ADMIN_EMAIL,
            "Demo Admin",
            Role::Admin,
            admin_password.to_string(),
        ),
        (
            "marta.okafor@broadsheet.test",
            "Marta Okafor",
            Role::Editor,
            crate::auth::refresh::generate(),
        ),
        (
            "jonas.lindqvist@broadsheet.test",
            "Jonas Lindqvist",
            Role::Author,
            crate::auth::refresh::generate(),
        ),
    ];
    let mut hashed = Vec::new();
    for (email, name, role, pw) in people {
        let hash = actix_web::web::block(move || password::hash(&pw))
            .await?
            .map_err(AppError::internal)?;
        hashed.push((email.to_string(), name.to_string(), role, hash));
    }
    let authors = db
        .write(move |conn| {
            let mut authors = Vec::new();
            for (email, name, role, hash) in hashed {
                let bio = Some(demo_bio(&name));
                let row = insert_editor(conn, email, name, None, bio, role, hash)?;
                let profile = db::editors::EditorChanges {
                    avatar_url: Some(Some(format!("https://broadsheet.test/avatars/{}.jpg", row.slug))),
                    ..Default::default()
                };
                db::editors::update(conn, row.id, &profile)?;
                authors.push(CurrentEditor {
                    id: row.id,
                    role,
                    scopes: None,
                });
            }
            Ok(authors)
        })
        .await?;
    Ok(authors)
}

/// A demo editor's bio, for the author pages.
fn demo_bio(name: &str) -> String {
    match name {
        "Marta Okafor" => "Marta writes about cities, transport and the people who run them.".into(),
        "Jonas Lindqvist" => "Jonas covers housing, energy and the money behind both.".into(),
        _ => format!("{name} edits the opinion pages."),
    }
}

/// One demo comment; `reply_to` is the index of an earlier seed.
struct DemoComment {
    on_second_article: bool,
    reply_to: Option<usize>,
    name: &'static str,
    email: &'static str,
    url: Option<&'static str>,
    body: &'static str,
    status: CommentStatus,
    minutes_ago: i64,
}

const DEMO_COMMENTS: [DemoComment; 5] = [
    DemoComment {
        on_second_article: false,
        reply_to: None,
        name: "Ana Ruiz",
        email: "ana.ruiz@example.com",
        url: None,
        body: "Finally someone says it. The bus lanes on my street halved my commute.\n\nBut the \
               consultation was a farce, and that part deserves more than one paragraph.",
        status: CommentStatus::Approved,
        minutes_ago: 180,
    },
    DemoComment {
        on_second_article: false,
        reply_to: Some(0),
        name: "Tom Becker",
        email: "tom.becker@example.com",
        url: Some("https://tom.example.org"),
        body: "Agreed on the consultation. The minutes are public: https://council.example.org/minutes/2026-10",
        status: CommentStatus::Approved,
        minutes_ago: 120,
    },
    DemoComment {
        on_second_article: false,
        reply_to: None,
        name: "Grace Ho",
        email: "grace.ho@example.com",
        url: None,
        body: "I run a shop on the high street and footfall is down a fifth. Numbers, please, not anecdotes.",
        status: CommentStatus::Approved,
        minutes_ago: 90,
    },
    DemoComment {
        on_second_article: true,
        reply_to: None,
        name: "Priya Natarajan",
        email: "priya.n@example.com",
        url: None,
        body: "A fair piece. I would have liked to hear from the people who actually drive for a living.",
        status: CommentStatus::Approved,
        minutes_ago: 60,
    },
    DemoComment {
        on_second_article: false,
        reply_to: None,
        name: "First Timer",
        email: "first.timer@example.com",
        url: None,
        body: "Is this the right place to ask about delivery times?",
        status: CommentStatus::Pending,
        minutes_ago: 5,
    },
];

/// Demo comments for a fresh development database: on the given articles,
/// a few approved comments (one a threaded reply) and one pending comment.
/// Meant to run inside the demo seeder's transaction; with one article,
/// every comment goes on it.
pub fn seed_comments(conn: &mut DbConnection, article_ids: &[i64]) -> Result<(), AppError> {
    let Some(&first) = article_ids.first() else {
        return Ok(());
    };
    let second = article_ids.get(1).copied().unwrap_or(first);
    let now = crate::domain::date::now();
    let mut inserted: Vec<CommentRow> = Vec::new();
    for seed in &DEMO_COMMENTS {
        let article_id = if seed.on_second_article { second } else { first };
        let parent = seed.reply_to.and_then(|i| inserted.get(i));
        let at = now - Duration::minutes(seed.minutes_ago);
        let row = db::comments::insert(
            conn,
            &NewComment {
                article_id,
                parent_id: parent.map(|p| p.id),
                depth: parent.map_or(0, |p| p.depth + 1),
                author_name: seed.name.to_string(),
                author_email: seed.email.to_string(),
                author_url: seed.url.map(str::to_string),
                body: seed.body.to_string(),
                body_html: comment::render_body(seed.body),
                status: seed.status,
                created_at: at,
                updated_at: at,
            },
        )?;
        if row.is_counted() {
            db::articles::add_to_comment_count(conn, article_id, 1)?;
        }
        inserted.push(row);
    }
    Ok(())
}

/// Demo content: a believable spread of shares over the last 30 days for
/// `article_ids` (more for the first ones, more on recent days), recorded
/// through [`db::shares::record`] so every counter and rollup follows.
pub fn seed_shares(conn: &mut DbConnection, article_ids: &[i64]) -> Result<(), AppError> {
    const WEIGHTS: [(ShareChannel, u32); 9] = [
        (ShareChannel::Email, 14),
        (ShareChannel::Facebook, 18),
        (ShareChannel::X, 16),
        (ShareChannel::Linkedin, 8),
        (ShareChannel::Whatsapp, 20),
        (ShareChannel::Telegram, 4),
        (ShareChannel::Reddit, 5),
        (ShareChannel::CopyLink, 12),
        (ShareChannel::Other, 3),
    ];
    let total_weight: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut rng = rand::rng();
    let now = crate::domain::date::now();
    let since_midnight = (now - now.date().and_time(chrono::NaiveTime::MIN)).num_seconds();
    let span_seconds = (29 * 86_400 + since_midnight) as f64;
    let mut events = Vec::new();
    for (rank, article_id) in article_ids.iter().enumerate() {
        let n = rng.random_range(3..=60) * 3 / (rank as i64 + 3).min(12) + 2;
        for _ in 0..n {
            let mut pick = rng.random_range(0..total_weight);
            let channel = WEIGHTS
                .iter()
                .find(|(_, w)| {
                    let hit = pick < *w;
                    pick = pick.saturating_sub(*w);
                    hit
                })
                .map_or(ShareChannel::Other, |(c, _)| *c);
            // Squaring a uniform draw puts more shares on recent days; the
            // oldest fall 29 days back, inside a default 30-day chart.
            let age: f64 = rng.random::<f64>().powi(2) * span_seconds;
            events.push(NewShareEvent {
                article_id: *article_id,
                channel,
                created_at: now - TimeDelta::seconds(age as i64),
            });
        }
    }
    Ok(db::shares::record(conn, &events)?)
}
