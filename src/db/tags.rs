//! (filled in by the tags work)
