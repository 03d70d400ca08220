//! Request and response bodies.
//!
//! A request [`Body`] knows whether it can be sent again. Retries need that: a buffered body is
//! cloned, a replayable body (a file on disk, or any stream factory) is rebuilt from scratch, and a
//! one-shot stream is never retried once it may have been read. This is what keeps a retried
//! upload from sending an empty or half-consumed body.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use futures_util::stream::BoxStream;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;

use crate::error::BoxError;

/// A stream of body chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes, BoxError>>;

/// The response body type of every service in the stack.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// Builds a fresh stream of the same bytes each time it is called.
pub type StreamFactory = Arc<dyn Fn() -> ByteStream + Send + Sync>;

/// A request body that may be replayed for retries.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Replayable {
        factory: StreamFactory,
        len: Option<u64>,
        current: Option<ByteStream>,
    },
    Stream {
        stream: ByteStream,
        len: Option<u64>,
    },
}

impl Body {
    /// An empty body.
    pub fn empty() -> Self {
        Body { kind: Kind::Empty }
    }

    /// A buffered body; cheap to clone for retries.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    /// A streamed body that can be rebuilt for each attempt by calling `factory` again.
    /// `len` is the exact length when known (sent as `Content-Length`).
    pub fn replayable(factory: StreamFactory, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Replayable {
                factory,
                len,
                current: None,
            },
        }
    }

    /// A one-shot stream: never retried after it may have been read.
    pub fn stream(stream: ByteStream, len: Option<u64>) -> Self {
        Body {
            kind: Kind::Stream { stream, len },
        }
    }

    /// A copy of this body for another attempt, or `None` for a one-shot stream.
    ///
    /// Call it before the body is sent: a buffered body that was already polled is gone.
    pub fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Empty => Some(Body::empty()),
            Kind::Full(Some(b)) => Some(Body::full(b.clone())),
            Kind::Full(None) => None,
            Kind::Replayable { factory, len, .. } => Some(Body::replayable(factory.clone(), *len)),
            Kind::Stream { .. } => None,
        }
    }

    /// The exact length in bytes, when known.
    pub fn content_length(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Full(Some(b)) => Some(b.len() as u64),
            Kind::Full(None) => Some(0),
            Kind::Replayable { len, .. } | Kind::Stream { len, .. } => *len,
        }
    }

    /// The bytes of a buffered body (for snapshot tests and logging sizes); `None` for streams.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match &self.kind {
            Kind::Full(Some(b)) => Some(b),
            _ => None,
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    // Never print contents: bodies carry user code and file data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Empty => "empty",
            Kind::Full(_) => "full",
            Kind::Replayable { .. } => "replayable",
            Kind::Stream { .. } => "stream",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("len", &self.content_length())
            .finish()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::full(b)
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body::full(b)
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::full(s)
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut self.kind;
        match this {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            Kind::Replayable {
                factory, current, ..
            } => {
                let stream = current.get_or_insert_with(|| factory());
                poll_stream(stream.as_mut(), cx)
            }
            Kind::Stream { stream, .. } => poll_stream(stream.as_mut(), cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(b) => b.as_ref().is_none_or(|b| b.is_empty()),
            _ => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.content_length() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

fn poll_stream(
    stream: Pin<&mut (dyn Stream<Item = Result<Bytes, BoxError>> + Send)>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
    stream.poll_next(cx).map(|o| o.map(|r| r.map(Frame::data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn full_body_clones_before_send_and_not_after() {
        let body = Body::full("abc");
        let copy = body.try_clone().expect("buffered bodies clone");
        assert_eq!(copy.collect().await.unwrap().to_bytes(), "abc");
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
    }

    #[tokio::test]
    async fn replayable_body_rebuilds_its_stream() {
        let factory: StreamFactory = Arc::new(|| {
            Box::pin(stream::iter(vec![
                Ok(Bytes::from("a")),
                Ok(Bytes::from("b")),
            ]))
        });
        let body = Body::replayable(factory, Some(2));
        let again = body.try_clone().unwrap();
        assert_eq!(body.collect().await.unwrap().to_bytes(), "ab");
        assert_eq!(again.collect().await.unwrap().to_bytes(), "ab");
    }

    #[test]
    fn one_shot_stream_is_not_cloneable() {
        let body = Body::stream(Box::pin(stream::empty()), None);
        assert!(body.try_clone().is_none());
        assert!(format!("{body:?}").contains("stream"));
    }
}
