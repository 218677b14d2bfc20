//! (filled in by the shares work)
