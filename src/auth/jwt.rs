//! Access tokens: JWTs signed with HS256 and the configured secret.
//!
//! Verification pins the algorithm (so `alg: none` or an RS256 header is
//! refused), and requires `exp`, `iss`, `aud` and `sub`; issuer and audience
//! must match the configuration. Tokens carry `sub` (editor id), `role`,
//! `iat`, `exp`, `iss`, `aud` and a unique `jti`.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Claims for a new token for `editor_id`, valid from `now` (Unix seconds).
    pub fn claims(&self, editor_id: i64, role: Role, now: i64) -> Claims {
        Claims {
            sub: editor_id.to_string(),
            role,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    pub fn encode(&self, claims: &Claims) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| format!("token signing failed: {e}"))
    }

    /// Verifies signature, algorithm, expiry, issuer and audience.
    pub fn decode(&self, token: &str) -> Result<Claims, String> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    "the access token has expired".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidAudience => {
                    "the access token is for another audience".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                    "the access token has another issuer".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => {
                    "the access token uses a refused algorithm".to_string()
                }
                _ => "the access token is not valid".to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(secret: &str) -> JwtKeys {
        JwtKeys::new(
            secret.as_bytes(),
            "broadsheet",
            "editors",
            Duration::from_secs(900),
        )
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn a_token_round_trips() {
        let k = keys("s3cret-s3cret-s3cret-s3cret-s3cret");
        let claims = k.claims(7, Role::Editor, now());
        let token = k.encode(&claims).unwrap();
        assert_eq!(k.decode(&token).unwrap(), claims);
    }

    #[test]
    fn expired_foreign_and_tampered_tokens_are_refused() {
        let k = keys("s3cret-s3cret-s3cret-s3cret-s3cret");
        let expired = k.encode(&k.claims(7, Role::Admin, now() - 3600)).unwrap();
        assert!(k.decode(&expired).unwrap_err().contains("expired"));

        let other = keys("another-secret-another-secret-xx");
        let foreign = other.encode(&other.claims(7, Role::Admin, now())).unwrap();
        assert!(k.decode(&foreign).is_err());

        let token = k.encode(&k.claims(7, Role::Author, now())).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let forged = URL_SAFE_NO_PAD.encode(payload.replace("\"author\"", "\"admin\""));
        assert!(
            k.decode(&format!("{}.{}.{}", parts[0], forged, parts[2]))
                .is_err()
        );

        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.decode(&format!("{none_header}.{}.", parts[1])).is_err());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let k = keys("s3cret-s3cret-s3cret-s3cret-s3cret");
        let elsewhere = JwtKeys::new(
            b"s3cret-s3cret-s3cret-s3cret-s3cret",
            "broadsheet",
            "someone-else",
            Duration::from_secs(900),
        );
        let token = elsewhere
            .encode(&elsewhere.claims(1, Role::Admin, now()))
            .unwrap();
        assert!(k.decode(&token).unwrap_err().contains("audience"));
    }
}
