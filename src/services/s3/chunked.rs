//! `aws-chunked` request bodies (`x-amz-content-sha256: STREAMING-…`, `Content-Encoding:
//! aws-chunked`), which AWS SDKs send for streaming uploads: `<hex size>[;chunk-signature=…]\r\n
//! <data>\r\n` … `0\r\n<trailers>\r\n`. [`decode`] yields the payload; trailing
//! `x-amz-checksum-*` values are verified against it. Chunk signatures are not verified
//! (signatures are not verified anywhere in the emulator).

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use s3s::crypto::Checksum as _;

/// Prefix of the error message of a trailing checksum that does not match the payload.
pub const BAD_DIGEST: &str = "BadDigest:";

/// Whether a request with these `x-amz-content-sha256` / `Content-Encoding` values has an
/// `aws-chunked` body.
pub fn is_aws_chunked(content_sha256: Option<&str>, content_encoding: Option<&str>) -> bool {
    content_sha256.is_some_and(|v| v.starts_with("STREAMING-"))
        || content_encoding.is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Data(u64),
    DataEnd,
    Trailers,
    Done,
}

struct Decoder<S> {
    inner: S,
    buf: BytesMut,
    phase: Phase,
    eof: bool,
    hasher: s3s::checksum::ChecksumHasher,
}

/// A stream error of the decoder.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChunkError(String);

fn err(message: impl Into<String>) -> ChunkError {
    ChunkError(message.into())
}

impl<S, E> Decoder<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    /// Reads more input; `false` at the end of the body.
    async fn fill(&mut self) -> Result<bool, ChunkError> {
        if self.eof {
            return Ok(false);
        }
        match self.inner.next().await {
            Some(Ok(b)) => {
                self.buf.extend_from_slice(&b);
                Ok(true)
            }
            Some(Err(e)) => Err(err(e.to_string())),
            None => {
                self.eof = true;
                Ok(false)
            }
        }
    }

    /// The next line (without CRLF), or `None` at the end of the body.
    async fn line(&mut self) -> Result<Option<String>, ChunkError> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf.split_to(pos);
                self.buf.advance(2);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if self.buf.len() > 64 * 1024 {
                return Err(err("aws-chunked: chunk header line too long"));
            }
            if !self.fill().await? {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                let line = self.buf.split();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
        }
    }

    fn verify_trailer(&mut self, line: &str) -> Result<(), ChunkError> {
        let Some((name, value)) = line.split_once(':') else {
            return Ok(());
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let hasher = std::mem::take(&mut self.hasher);
        let got = hasher.finalize();
        let computed = match name.as_str() {
            "x-amz-checksum-crc32" => got.checksum_crc32,
            "x-amz-checksum-crc32c" => got.checksum_crc32c,
            "x-amz-checksum-crc64nvme" => got.checksum_crc64nvme,
            "x-amz-checksum-sha1" => got.checksum_sha1,
            "x-amz-checksum-sha256" => got.checksum_sha256,
            _ => return Ok(()),
        };
        if computed.as_deref() != Some(value) {
            return Err(err(format!(
                "{BAD_DIGEST} The {} you specified did not match the calculated checksum.",
                name.trim_start_matches("x-amz-checksum-")
                    .to_ascii_uppercase()
            )));
        }
        Ok(())
    }

    async fn next_chunk(&mut self) -> Option<Result<Bytes, ChunkError>> {
        loop {
            match self.phase {
                Phase::Done => return None,
                Phase::Header => {
                    let line = match self.line().await {
                        Ok(Some(l)) => l,
                        Ok(None) => {
                            return Some(Err(err(
                                "aws-chunked: the body ended before the final chunk",
                            )))
                        }
                        Err(e) => return Some(Err(e)),
                    };
                    let size = line.split(';').next().unwrap_or_default().trim();
                    match u64::from_str_radix(size, 16) {
                        Ok(0) => self.phase = Phase::Trailers,
                        Ok(n) => self.phase = Phase::Data(n),
                        Err(_) => {
                            return Some(Err(err(format!(
                                "aws-chunked: bad chunk header {line:?}"
                            ))))
                        }
                    }
                }
                Phase::Data(remaining) => {
                    if self.buf.is_empty() {
                        match self.fill().await {
                            Ok(true) => continue,
                            Ok(false) => {
                                return Some(Err(err("aws-chunked: the body ended inside a chunk")))
                            }
                            Err(e) => return Some(Err(e)),
                        }
                    }
                    let take = (self.buf.len() as u64).min(remaining) as usize;
                    let data = self.buf.split_to(take).freeze();
                    self.phase = if take as u64 == remaining {
                        Phase::DataEnd
                    } else {
                        Phase::Data(remaining - take as u64)
                    };
                    self.hasher.update(&data);
                    return Some(Ok(data));
                }
                Phase::DataEnd => match self.line().await {
                    Ok(Some(l)) if l.is_empty() => self.phase = Phase::Header,
                    Ok(_) => {
                        return Some(Err(err("aws-chunked: chunk data is longer than its size")))
                    }
                    Err(e) => return Some(Err(e)),
                },
                Phase::Trailers => match self.line().await {
                    Ok(Some(l)) if !l.is_empty() => {
                        if let Err(e) = self.verify_trailer(&l) {
                            self.phase = Phase::Done;
                            return Some(Err(e));
                        }
                    }
                    Ok(_) => self.phase = Phase::Done,
                    Err(e) => return Some(Err(e)),
                },
            }
        }
    }
}

/// Decodes an `aws-chunked` body into its payload. `trailer` is the `x-amz-trailer` header
/// (the checksum algorithm whose trailing value is verified).
pub fn decode<S, E>(
    body: S,
    trailer: Option<&str>,
) -> impl Stream<Item = Result<Bytes, ChunkError>> + Send + 'static
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let mut hasher = s3s::checksum::ChecksumHasher::default();
    match trailer.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
        Some("x-amz-checksum-crc32") => hasher.crc32 = Some(s3s::crypto::Crc32::new()),
        Some("x-amz-checksum-crc32c") => hasher.crc32c = Some(s3s::crypto::Crc32c::new()),
        Some("x-amz-checksum-crc64nvme") => hasher.crc64nvme = Some(s3s::crypto::Crc64Nvme::new()),
        Some("x-amz-checksum-sha1") => hasher.sha1 = Some(s3s::crypto::Sha1::new()),
        Some("x-amz-checksum-sha256") => hasher.sha256 = Some(s3s::crypto::Sha256::new()),
        _ => {}
    }
    let decoder = Decoder {
        inner: body,
        buf: BytesMut::new(),
        phase: Phase::Header,
        eof: false,
        hasher,
    };
    futures::stream::unfold(decoder, |mut d| async move {
        d.next_chunk().await.map(|item| (item, d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(parts: Vec<&'static [u8]>, trailer: Option<&str>) -> Result<Vec<u8>, String> {
        let input = futures::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p))),
        );
        let mut out = Vec::new();
        let stream = decode(input, trailer);
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            out.extend_from_slice(&item.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn decodes_signed_and_unsigned_chunks_with_trailers() {
        let signed: Vec<&'static [u8]> = vec![
            b"5;chunk-signature=abc\r\nhel",
            b"lo\r\n6;chunk-signature=def\r\n world\r\n0;chunk-signature=0\r\n\r\n",
        ];
        assert_eq!(run(signed, None).await.unwrap(), b"hello world");
        // CRC32 of "hello" is NhCmhg== (base64).
        let trailer: Vec<&'static [u8]> =
            vec![b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"];
        assert_eq!(
            run(trailer, Some("x-amz-checksum-crc32")).await.unwrap(),
            b"hello"
        );
        let bad: Vec<&'static [u8]> =
            vec![b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"];
        let e = run(bad, Some("x-amz-checksum-crc32")).await.unwrap_err();
        assert!(e.starts_with(BAD_DIGEST), "{e}");
        assert!(run(vec![b"5\r\nhel"], None).await.is_err());
        assert!(is_aws_chunked(
            Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            None
        ));
        assert!(is_aws_chunked(None, Some("gzip, aws-chunked")));
        assert!(!is_aws_chunked(Some("UNSIGNED-PAYLOAD"), Some("gzip")));
    }
}
