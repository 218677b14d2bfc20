//! Query strings: typed parameters, with the rules every list shares
//! (repeated list parameters, NUL bytes, the 4 KiB cap, errors that name
//! the parameter).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::extract::field_error;
use crate::error::AppError;

/// Typed query-string parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    if query.len() > 4096 {
        return Err(AppError::bad_request(
            "The query string is longer than 4096 bytes.",
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded_pairs(query);
    if let Some((name, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(AppError::field(
            name.replace('\0', ""),
            "must not contain NUL characters",
        ));
    }
    let merged = merge_repeats(pairs)?;
    let deserializer = serde_urlencoded::Deserializer::new(url_pairs(&merged));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        match field_error(&path, &message) {
            AppError::Validation(mut errors) => {
                for error in &mut errors {
                    if error.message == "is not a known field" {
                        error.message = "is not a known query parameter".into();
                    }
                }
                AppError::Validation(errors)
            }
            other => other,
        }
    })
}

/// Query parameters that take a comma-separated list. Generated clients
/// that ignore the spec's `explode: false` send `fields=a&fields=b`; both
/// forms mean the same list.
const LIST_PARAMETERS: [&str; 4] = ["fields", "tag", "tags_all", "exclude"];

/// The query with repeated list parameters joined by commas, re-encoded; any
/// other parameter given twice is a `422` naming it (which value was meant
/// is not ours to guess).
fn merge_repeats(pairs: Vec<(String, String)>) -> Result<String, AppError> {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some((_, joined)) if LIST_PARAMETERS.contains(&key.as_str()) => {
                joined.push(',');
                joined.push_str(&value);
            }
            Some(_) => return Err(AppError::field(key, "is given more than once")),
            None => merged.push((key, value)),
        }
    }
    Ok(form_urlencoded::Serializer::new(String::new())
        .extend_pairs(merged)
        .finish())
}

fn url_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    url_pairs(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn field_of(e: AppError) -> (String, String) {
        match e {
            AppError::Validation(errors) => (errors[0].field.clone(), errors[0].message.clone()),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        page: Option<u32>,
        q: Option<String>,
        fields: Option<String>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert!(parse_query::<Params>("page=2&q=a+b").is_ok());
        assert_eq!(field_of(parse_query::<Params>("page=-1").unwrap_err()).0, "page");
        assert_eq!(field_of(parse_query::<Params>("pgae=1").unwrap_err()).0, "pgae");
        assert_eq!(field_of(parse_query::<Params>("q=a%00b").unwrap_err()).0, "q");
        assert_eq!(
            field_of(parse_query::<Params>("page=1&q=x&page=2").unwrap_err()),
            ("page".to_string(), "is given more than once".to_string())
        );
    }

    #[test]
    fn list_parameters_may_repeat_as_generators_send_them() {
        let one: Params = parse_query("fields=id,title&q=a%26b").unwrap();
        let many: Params = parse_query("fields=id&q=a%26b&fields=title").unwrap();
        assert_eq!(one.fields, many.fields);
        assert_eq!(many.fields.as_deref(), Some("id,title"));
        assert_eq!(many.q.as_deref(), Some("a&b"));
    }
}
