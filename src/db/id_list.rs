//! `column IN (a list of ids)` as one bound value, so the statement is
//! prepared once per connection whatever the list's length.
//!
//! diesel's `eq_any` writes a list as one placeholder per id on SQLite
//! (`IN (?, ?, …)`), and marks such a statement unsafe to keep prepared:
//! every page of search results, related articles or `q=` list was parsed
//! and planned again (6% of all CPU under the search mix at 1k articles,
//! docs/BENCHMARKS.md). Here SQLite gets the ids as one JSON array read by
//! `json_each` (built in since 3.38), PostgreSQL one `bigint[]` (what
//! `eq_any` binds there too); both keep the statement prepared.

use diesel::QueryResult;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Text};
use diesel::sqlite::Sqlite;

use crate::db::MultiBackend;

/// `column IN ids` (see the module documentation). Build with [`id_in`].
#[derive(Debug, Clone, QueryId)]
pub struct IdIn<C> {
    column: C,
    ids: Vec<i64>,
    /// The ids as a JSON array, SQLite's bind.
    json: String,
}

/// `column IN ids`, one bind whatever the number of ids.
pub fn id_in<C>(column: C, ids: &[i64]) -> IdIn<C> {
    IdIn {
        column,
        ids: ids.to_vec(),
        json: serde_json::to_string(ids).expect("a list of integers serialises"),
    }
}

impl<C: Expression<SqlType = BigInt>> Expression for IdIn<C> {
    type SqlType = Bool;
}

impl<C: AppearsOnTable<QS>, QS> AppearsOnTable<QS> for IdIn<C> where IdIn<C>: Expression {}

impl<C: SelectableExpression<QS>, QS> SelectableExpression<QS> for IdIn<C> where IdIn<C>: Expression {}

impl<C: ValidGrouping<GB>, GB> ValidGrouping<GB> for IdIn<C> {
    type IsAggregate = C::IsAggregate;
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for IdIn<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (SELECT value FROM json_each(");
        out.push_bind_param::<Text, _>(&self.json)?;
        out.push_sql("))");
        Ok(())
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for IdIn<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" = ANY(");
        out.push_bind_param::<Array<BigInt>, _>(&self.ids)?;
        out.push_sql(")");
        Ok(())
    }
}

impl<C: QueryFragment<Sqlite> + QueryFragment<Pg>> QueryFragment<MultiBackend> for IdIn<C> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, pass)
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::query_builder::QueryFragment;
    use diesel::sqlite::Sqlite;

    use super::*;

    diesel::table! {
        items (id) {
            id -> BigInt,
        }
    }

    #[test]
    fn the_statement_is_kept_prepared_where_eq_any_is_not() {
        let ids = [3_i64, 1, 2];
        let ours = items::table.filter(id_in(items::id, &ids)).select(items::id);
        let theirs = items::table.filter(items::id.eq_any(&ids)).select(items::id);
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&ours, &Sqlite).unwrap());
        assert!(!QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&theirs, &Sqlite).unwrap());
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&ours, &Pg).unwrap());
    }

    #[test]
    fn selects_exactly_the_listed_rows_on_sqlite() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        diesel::sql_query("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("INSERT INTO items (id) VALUES (1), (2), (3), (4), (5)")
            .execute(&mut conn)
            .unwrap();
        let mut found = |ids: &[i64]| -> Vec<i64> {
            items::table
                .filter(id_in(items::id, ids))
                .select(items::id)
                .order(items::id)
                .load(&mut conn)
                .unwrap()
        };
        assert_eq!(found(&[4, 2, 9]), [2, 4]);
        assert_eq!(found(&[]), Vec::<i64>::new());
        assert_eq!(found(&[5, 5, 1]), [1, 5]);
    }
}
