//! A body passed through unchanged while something watches it. The connection loop keeps a
//! request marked as serving until its response body is gone; the time limit notes whether the
//! last read of a request body had to wait for the client.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

/// What watches an `ObservedBody`; dropped with it.
pub trait BodyObserver: Send + Unpin + 'static {
    /// Called after each read of the body, with whether the read had to wait for data.
    fn polled(&mut self, _waiting: bool) {}
}

pub struct ObservedBody<O> {
    body: Body,
    observer: O,
}

impl<O: BodyObserver> ObservedBody<O> {
    pub fn wrap(body: Body, observer: O) -> Body {
        Body::new(ObservedBody { body, observer })
    }
}

impl<O: BodyObserver> http_body::Body for ObservedBody<O> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        this.observer.polled(polled.is_pending());
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
