//! Enum columns. Article and comment statuses, share channels and roles are
//! stored as `Text` (both backends share it) and mapped here, once, with
//! diesel's `FromSql`/`ToSql` for every backend: a row holding a value
//! this code does not know fails its query with a deserialization error (a
//! `500`, the detail in the log) instead of being read as some default.
//!
//! The domain types stay free of diesel: the impls live here (vaultwarden's
//! `impl_FromToSqlText!` idea). `Queryable` lets a row struct or tuple hold
//! the enum; `AsExpression` lets inserts, updates and filters take it.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::MultiBackend;
use crate::domain::Role;
use crate::domain::article::ArticleStatus;
use crate::domain::change::{Action, Entity};
use crate::domain::comment::CommentStatus;
use crate::domain::scope::ScopeSet;
use crate::domain::share::ShareChannel;

/// `Text` mapping for an enum with `as_str(self) -> &'static str` and
/// `parse(&str) -> Option<Self>`.
macro_rules! text_enum {
    ($ty:ty, $what:literal) => {
        // For every backend: `DbConnection`'s (`MultiBackend`), and SQLite's
        // and PostgreSQL's own, on which the hot reads run (`on_backend!`).
        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                <$ty>::parse(&text)
                    .ok_or_else(|| format!("unknown {} {text:?} in the database", $what).into())
            }
        }

        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> Queryable<Text, DB> for $ty
        where
            DB: Backend,
            Self: FromSql<Text, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $ty {
            type Expression = <&'static str as AsExpression<Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }

        impl AsExpression<Text> for &$ty {
            type Expression = <&'static str as AsExpression<Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }
    };
}

text_enum!(ArticleStatus, "article status");
text_enum!(CommentStatus, "comment status");
text_enum!(ShareChannel, "share channel");
text_enum!(Role, "role");
text_enum!(Entity, "change entity");
text_enum!(Action, "change action");

// An API token's scopes, space separated; written as text by the insert
// (`ScopeSet::to_stored`), read back strictly: an unknown scope fails.
// Only through `DbConnection` (`MultiBackend`): no hot read needs it.
impl FromSql<Text, MultiBackend> for ScopeSet {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
        ScopeSet::parse(&text).ok_or_else(|| format!("unknown scopes {text:?} in the database").into())
    }
}

impl Queryable<Text, MultiBackend> for ScopeSet {
    type Row = Self;
    fn build(row: Self) -> deserialize::Result<Self> {
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::dsl::sql;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::*;
    use crate::db::test_sqlite_db;

    #[test]
    fn known_values_round_trip_and_unknown_ones_fail_loudly() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = test_sqlite_db(dir.path());
        db.write_blocking(|conn| {
            conn.batch_execute("CREATE TABLE t (s TEXT NOT NULL)")?;
            diesel::sql_query("INSERT INTO t (s) VALUES (?)")
                .bind::<Text, _>(ArticleStatus::Archived)
                .execute(conn)?;
            let back: ArticleStatus = diesel::select(sql::<Text>("(SELECT s FROM t)")).get_result(conn)?;
            assert_eq!(back, ArticleStatus::Archived);
            let role: Role = diesel::select(sql::<Text>("'editor'")).get_result(conn)?;
            assert_eq!(role, Role::Editor);
            // A value this code never writes is an error, not a default.
            let status = diesel::select(sql::<Text>("'retracted'")).get_result::<CommentStatus>(conn);
            let Err(diesel::result::Error::DeserializationError(e)) = status else {
                panic!("read as {status:?}");
            };
            assert!(format!("{e:?}").contains("unknown comment status"), "{e:?}");
            let channel = diesel::select(sql::<Text>("'myspace'")).get_result::<ShareChannel>(conn);
            assert!(matches!(
                channel,
                Err(diesel::result::Error::DeserializationError(_))
            ));
            Ok(())
        })
        .unwrap();
    }
}
