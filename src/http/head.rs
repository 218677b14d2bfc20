//! `HEAD` wherever `GET` works: actix's `#[get]` routes match `GET` only,
//! so a `HEAD` request is routed as a `GET` (and served by the same
//! handler, cache and conditional logic) and answered with the `GET`'s
//! status and headers but no body.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::Error;
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Bytes;

/// A body that has the size of the `GET`'s body (so `Content-Length` is the
/// `GET`'s) and no bytes.
struct HeadBody(BodySize);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::HEAD {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    req.head_mut().method = Method::GET;
    let response = next.call(req).await?;
    Ok(response.map_body(|_, body| {
        let size = match body.size() {
            BodySize::Sized(n) => BodySize::Sized(n),
            _ => BodySize::None,
        };
        BoxBody::new(HeadBody(size))
    }))
}
