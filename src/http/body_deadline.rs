//! A deadline for receiving a request body. actix bounds the time to send
//! the request head (`client_request_timeout`) but not the body: a client
//! trickling one byte every half second held a worker's request open for as
//! long as it liked. Here the body must arrive within
//! `BODY_READ_TIMEOUT_SECONDS` of the request's start; past that, reading it
//! fails, and the answer is `408 request_timeout` with `Connection: close`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::{ConnectionType, header};
use actix_web::middleware::Next;
use actix_web::rt::time::{Sleep, sleep};
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError, web};
use futures_util::{Stream, StreamExt};

use crate::error::AppError;
use crate::state::AppState;

/// The request's payload, failing once `deadline` passes before its end.
struct Deadline {
    inner: Payload,
    deadline: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    self.expired.set(true);
                    let timeout = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow");
                    Poll::Ready(Some(Err(PayloadError::Io(timeout))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

fn timed_out(limit: Duration) -> AppError {
    AppError::RequestTimeout(format!(
        "The request body did not arrive within {} seconds.",
        limit.as_secs()
    ))
}

pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.body_read_timeout);
    // Most requests (GETs) have no body: no timer for them.
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let Some(limit) = limit.filter(|_| has_body) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let expired = Rc::new(Cell::new(false));
    let payload = Deadline {
        inner: req.take_payload(),
        deadline: Box::pin(sleep(limit)),
        expired: expired.clone(),
        done: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(payload),
    });
    let result = next.call(req).await;
    if !expired.get() {
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    match result {
        Ok(response) => {
            // Whatever the handler made of the failed read, the answer is
            // the timeout; the rest of the body is not waited for.
            let mut answer = timed_out(limit).error_response();
            answer.head_mut().set_connection_type(ConnectionType::Close);
            Ok(ServiceResponse::new(response.request().clone(), answer))
        }
        Err(_) => Err(timed_out(limit).into()),
    }
}
