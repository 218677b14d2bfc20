//! Demo content for a fresh development database: three editors, opinion
//! articles (headline, standfirst, paragraphs, a pull quote) with tags, and
//! — through their own modules — comments and share events. Loaded only into
//! an empty database, and never in production (the configuration refuses
//! `DEMO_CONTENT` there).

use chrono::{Duration, SubsecRound};

use crate::auth::{CurrentEditor, password};
use crate::db::{self, Db};
use crate::domain::Role;
use crate::domain::article::ArticleStatus;
use crate::error::AppError;
use crate::service::articles::{self, NewArticleInput};
use crate::service::editors::insert_editor;

pub const DEMO_ADMIN_EMAIL: &str = "admin@broadsheet.test";

struct DemoArticle {
    title: &'static str,
    subtitle: &'static str,
    body: &'static str,
    tags: &'static [&'static str],
    /// Hours before now; negative schedules it in the future.
    hours_ago: i64,
    status: ArticleStatus,
}

const ARTICLES: &[DemoArticle] = &[
    DemoArticle {
        title: "It's too late now to wait for the perfect tram plan",
        subtitle: "Every year the plan gets better and the trams get further away. The city should build the line it can afford.",
        body: "For eleven years the council has studied a tram line from the station to the hospital. \
Each study was better than the last, and each one ended with a recommendation to study a little more.\n\n\
Meanwhile the buses on that route run full by half past seven, and the hospital's car park turns \
away two hundred cars a day.\n\n\
> The best tram is the one that runs, not the one that is perfect on paper.\n\n\
A modest line on the existing road, with signal priority and level boarding, could open within four \
years. It would not be the network the consultants drew. It would carry people.\n\n\
The council meets on Thursday. It should vote for the line it can build, and stop paying for plans \
of the line it cannot.",
        tags: &["Cities", "Transport"],
        hours_ago: 3,
        status: ArticleStatus::Published,
    },
    DemoArticle {
        title: "Libraries are the last free room in town",
        subtitle: "A warm seat, a quiet table and nobody asking you to buy a coffee: why cutting opening hours costs more than it saves.",
        body: "Walk into the central library at ten on a weekday morning and count the people who are not \
there for books. Students with laptops, a man filling in a benefits form, two retirees doing the crossword.\n\n\
> A library is the only building left where you are welcome without a reason.\n\n\
The proposal to close branches on Mondays and Tuesdays saves a small sum on paper. It moves the cost \
to the places those visitors go instead, or to nowhere at all.\n\n\
Keep the doors open. Measure what the rooms do, not only what the shelves lend.",
        tags: &["Cities", "Culture"],
        hours_ago: 27,
        status: ArticleStatus::Published,
    },
    DemoArticle {
        title: "The four-day week deserves a fair trial, not a slogan",
        subtitle: "Pilots abroad look promising. Our own public services could test it properly, with the results published.",
        body: "Few workplace ideas travel as fast as the four-day week, and few are argued about with so little \
local evidence.\n\n\
> If the idea is good, a fair trial will show it; if it is not, a fair trial will save us from it.\n\n\
A year-long pilot in two council departments, with clear measures set in advance and an independent \
evaluation, would tell us more than another round of opinion columns. Including this one.",
        tags: &["Work", "Economy"],
        hours_ago: 75,
        status: ArticleStatus::Published,
    },
    DemoArticle {
        title: "What the river festival should learn from last summer",
        subtitle: "Draft: waiting for the organisers' figures.",
        body: "Notes for a piece on crowd flow, toilets and the last bus home.",
        tags: &["Cities"],
        hours_ago: 0,
        status: ArticleStatus::Draft,
    },
    DemoArticle {
        title: "Budget week: the three numbers to watch",
        subtitle: "Scheduled for Monday morning.",
        body: "Housing, transport and the reserve: where the real choices are.",
        tags: &["Economy"],
        hours_ago: -48,
        status: ArticleStatus::Published,
    },
];

/// Seeds when the database has no editor yet. The demo admin's password is
/// `DEMO_ADMIN_PASSWORD` when set, else random; it is printed once, here.
pub async fn seed_if_empty(db: &Db, admin_password: Option<&str>) -> Result<(), AppError> {
    if db.read(|conn| Ok(db::editors::count(conn)?)).await? > 0 {
        return Ok(());
    }
    let admin_password = admin_password
        .map(str::to_string)
        .unwrap_or_else(|| crate::auth::refresh::generate()[..20].to_string());
    let people = [
        (
            DEMO_ADMIN_EMAIL,
            "Demo Admin",
            Role::Admin,
            admin_password.clone(),
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
                let row = insert_editor(conn, email, name, None, None, role, hash)?;
                authors.push(CurrentEditor { id: row.id, role });
            }
            Ok(authors)
        })
        .await?;

    // The desk creates the tags first: authors may only use existing ones.
    let tag_names: Vec<String> = ARTICLES
        .iter()
        .flat_map(|a| a.tags.iter().map(|t| t.to_string()))
        .collect();
    db.write(move |conn| crate::service::tags::find_or_create(conn, Role::Editor, &tag_names))
        .await?;

    let now = chrono::Utc::now();
    let mut published = Vec::new();
    for (i, demo) in ARTICLES.iter().enumerate() {
        let author = authors[1 + i % 2].clone();
        let input = NewArticleInput {
            title: demo.title.to_string(),
            subtitle: Some(demo.subtitle.to_string()),
            body_markdown: demo.body.to_string(),
            excerpt: None,
            slug: None,
            status: demo.status,
            tags: demo.tags.iter().map(|t| t.to_string()).collect(),
            featured_image_url: None,
            comments_enabled: true,
            published_at: (demo.status == ArticleStatus::Published).then(|| {
                (now - Duration::hours(demo.hours_ago))
                    .naive_utc()
                    .trunc_subsecs(0)
            }),
        };
        let view = articles::create(db, author, input).await?;
        if demo.status == ArticleStatus::Published && demo.hours_ago >= 0 {
            published.push(view.article.id);
        }
    }
    db.write(move |conn| {
        crate::service::comments::seed_demo(conn, &published)?;
        crate::service::shares::seed_demo(conn, &published)
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
