//! Pure rules and value types: no actix, no diesel. What a valid slug, role,
//! status or channel is; how text is validated; how markdown becomes safe HTML.

pub mod api_token;
pub mod article;
pub mod change;
pub mod comment;
pub mod date;
pub mod feed;
pub mod markdown;
pub mod password;
pub mod presentation;
pub mod preview;
pub mod profile;
pub mod role;
pub mod scope;
pub mod search;
pub mod share;
pub mod slug;
pub mod sync;
pub mod text;
pub mod url;
pub mod webhook;

pub use role::Role;
