//! `broadsheet backup PATH`: a consistent copy of a SQLite database while
//! it serves, by `VACUUM INTO` (one read transaction: the copy is the
//! database as of its start, whatever commits meanwhile; writers are not
//! blocked in WAL mode). The copy is a complete, compacted database file
//! that `DATABASE_URL=sqlite://PATH` opens as it is.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, or base backups
//! and WAL archiving for point-in-time recovery): see docs/DEPLOY.md.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};

use super::{Backend, sqlite_path};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

/// The database behind `url` and the bytes it holds (pages in use), for a
/// progress estimate; refuses PostgreSQL and an existing `target`.
pub fn prepare(url: &str, target: &Path) -> Result<(SqliteConnection, u64), BoxError> {
    if Backend::from_url(url)? == Backend::Postgres {
        return Err(
            "`broadsheet backup` copies SQLite databases; back PostgreSQL up with pg_dump \
                    or a base backup plus WAL archiving (docs/DEPLOY.md)"
                .into(),
        );
    }
    if target.exists() {
        return Err(format!("{} exists; the backup never overwrites a file", target.display()).into());
    }
    let source = sqlite_path(url);
    if !Path::new(source).exists() {
        return Err(format!("no database at {source}").into());
    }
    let mut conn = SqliteConnection::establish(source)?;
    conn.batch_execute("PRAGMA busy_timeout = 10000;")?;
    let size: Size = diesel::sql_query(
        "SELECT (page_count - freelist_count) * page_size AS bytes \
         FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
    )
    .get_result(&mut conn)?;
    Ok((conn, size.bytes.max(0) as u64))
}

/// Writes the copy to `target` (which must not exist).
pub fn vacuum_into(conn: &mut SqliteConnection, target: &Path) -> Result<(), BoxError> {
    let target = target.to_str().ok_or("the backup path is not UTF-8")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(conn)?;
    Ok(())
}
