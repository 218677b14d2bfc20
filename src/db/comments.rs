//! (filled in by the comments work)
