//! Demo content for a fresh development database: editors now, and the
//! articles, tags, comments and share events of the resource modules.
//! Loaded only into an empty database, and never in production (the
//! configuration refuses `DEMO_CONTENT` there).

use crate::auth::password;
use crate::db::{self, Db};
use crate::domain::Role;
use crate::error::AppError;
use crate::service::editors::insert_editor;

pub const DEMO_ADMIN_EMAIL: &str = "admin@broadsheet.test";

/// Seeds when the database has no editor yet. The demo admin's password is
/// `DEMO_ADMIN_PASSWORD` when set, else random; it is printed once, here.
pub async fn seed_if_empty(db: &Db) -> Result<(), AppError> {
    if db.read(|conn| Ok(db::editors::count(conn)?)).await? > 0 {
        return Ok(());
    }
    let admin_password = std::env::var("DEMO_ADMIN_PASSWORD")
        .ok()
        .filter(|p| password::check_rules(p).is_ok())
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
    db.write(move |conn| {
        for (email, name, role, hash) in hashed {
            insert_editor(conn, email, name, None, None, role, hash)?;
        }
        Ok(())
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
