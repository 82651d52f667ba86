//! The TCP stream as hyper sees it, with two additions the connection loop needs:
//! - it tells the connection's `Activity` when bytes arrive, which starts the header-read
//!   deadline of a waiting connection;
//! - it turns hyper's own error answers into Coze envelopes. Hyper answers a request it cannot
//!   parse (malformed, a URL too long, headers too large) by itself, with an empty body and
//!   no way to change it, before any of our code runs. Such an answer is written while no
//!   request is being served and has a fixed shape (`HTTP/1.1 400|414|431 …`,
//!   `content-length: 0`, nothing after the head) that none of ours has, since every answer of
//!   the API carries an envelope; so it is recognised there and replaced by the same status
//!   with the envelope and a logid.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::connections::{Activity, MAX_HEADER_BYTES};
use super::envelope;

pub(super) struct ConnectionIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    replacement: Option<Replacement>,
}

/// An envelope being written in place of hyper's `consumed` bytes.
struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    consumed: usize,
}

impl ConnectionIo {
    pub(super) fn new(stream: TcpStream, activity: Arc<Activity>) -> ConnectionIo {
        ConnectionIo { stream, activity, replacement: None }
    }

    /// Writes the pending replacement to its end, then reports hyper's bytes as written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        let replacement = self.replacement.as_mut().expect("a replacement is pending");
        while replacement.written < replacement.bytes.len() {
            let written = ready!(Pin::new(&mut self.stream).poll_write(cx, &replacement.bytes[replacement.written..]))?;
            if written == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            replacement.written += written;
        }
        let consumed = replacement.consumed;
        self.replacement = None;
        Poll::Ready(Ok(consumed))
    }

    /// Starts replacing `head` if it is hyper's own error answer.
    fn intercept(&mut self, head: &[u8]) -> bool {
        if self.replacement.is_none() && !self.activity.is_serving() {
            if let Some(bytes) = enveloped_automatic_answer(head) {
                self.replacement = Some(Replacement { bytes, written: 0, consumed: head.len() });
            }
        }
        self.replacement.is_some()
    }
}

impl AsyncRead for ConnectionIo {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_received();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ConnectionIo {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.intercept(buf) {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let mut non_empty = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next()) {
            if this.intercept(only) {
                return this.poll_replacement(cx);
            }
        }
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The enveloped replacement of hyper's automatic answer, if `head` is one: a 400, 414 or 431
/// with an empty body.
fn enveloped_automatic_answer(head: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head).ok()?;
    let status_line = text.strip_prefix("HTTP/1.1 ").or_else(|| text.strip_prefix("HTTP/1.0 "))?;
    let lowercase = text.to_ascii_lowercase();
    if !lowercase.contains("\r\ncontent-length: 0\r\n") || !text.ends_with("\r\n\r\n") {
        return None;
    }
    let (status, msg) = match status_line.get(..4)? {
        "400 " => {
            ("400 Bad Request", "malformed HTTP request: the request line or a header could not be parsed".into())
        }
        "414 " => ("414 URI Too Long", "the request URL is too long".into()),
        "431 " => (
            "431 Request Header Fields Too Large",
            format!(
                "the request headers are too large (at most {} KiB) or too many (at most 100)",
                MAX_HEADER_BYTES / 1024
            ),
        ),
        _ => return None,
    };
    let logid = envelope::new_logid();
    tracing::info!(%logid, status = &status[..3], "refused a request hyper could not parse");
    let body =
        serde_json::to_string(&envelope::failure_body(voxprint_api::codes::INVALID_PARAMETER, msg, logid.clone()))
            .expect("an envelope serialises");
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}: {logid}\r\n\
         x-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len(),
        envelope::LOGID_HEADER,
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_answers_become_envelopes() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 25 Nov 2026 10:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(enveloped_automatic_answer(head).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 "));
        assert!(head.contains(&format!("content-length: {}\r\n", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], 4000);
        assert_eq!(body["detail"]["logid"].as_str().unwrap().len(), 30);
    }

    #[test]
    fn other_writes_pass() {
        // Our own answers always have a body; statuses hyper never makes are left alone.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(enveloped_automatic_answer(ours).is_none());
        assert!(enveloped_automatic_answer(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(enveloped_automatic_answer(b"RIFF\x00\x00").is_none());
    }
}
