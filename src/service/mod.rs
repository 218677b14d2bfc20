//! Use cases: validated input in, one transaction per operation, rows out.
//! Handlers call these; these call the query functions in `db`.

pub mod editors;
pub mod shares;
