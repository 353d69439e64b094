//! HTTPS downloads: fail fast on unreachable hosts, resume `<file>.partial` with a Range
//! request, verify the pinned checksum, then rename into place atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::checksum::{digest_file, Checksum, FileDigests};
use super::error::{commas, ModelError};
use super::manager::InstallProgress;

/// How many times one download call resumes after the connection drops.
const MAX_RESUMES: u32 = 5;
/// Report progress at least every this many bytes.
const PROGRESS_STEP: u64 = 1 << 20;

/// `<dest>.partial`, where a download accumulates until it is verified.
pub(crate) fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

/// A configured HTTP client.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
}

enum Fetched {
    Complete,
    /// The transfer stopped early; what we have is kept for a resume.
    Interrupted(String),
}

impl Fetcher {
    /// 10 s to connect (an unreachable host fails fast), 30 s without data aborts a read.
    pub fn new() -> Self {
        Self::with_timeouts(Duration::from_secs(10), Duration::from_secs(30))
    }

    pub fn with_timeouts(connect: Duration, read: Duration) -> Self {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(connect)
            .timeout_read(read)
            .timeout_write(read)
            .try_proxy_from_env(true)
            .user_agent(concat!("cuecard/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = system_tls_config() {
            builder = builder.tls_config(tls);
        }
        Fetcher { agent: builder.build() }
    }

    /// GET a small text document (JSON, HTML index).
    pub fn get_text(&self, url: &str, accept: &str) -> Result<String, ModelError> {
        let resp = self.agent.get(url).set("Accept", accept).call().map_err(|e| request_error(url, e))?;
        resp.into_string().map_err(|e| ModelError::Download { url: url.to_string(), reason: e.to_string() })
    }

    /// Download `url` to `dest`, resuming `dest.partial` if present, and verify `expected`
    /// before renaming into place. On a checksum mismatch the partial file is deleted.
    pub fn download(
        &self,
        url: &str,
        dest: &Path,
        expected: &Checksum,
        expected_size: Option<u64>,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<FileDigests, ModelError> {
        let partial = partial_path(dest);
        let mut resumes = 0;
        loop {
            let have = fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
            match expected_size {
                Some(size) if have == size => break,
                Some(size) if have > size => {
                    remove_quietly(&partial);
                    continue;
                }
                _ => {}
            }
            match self.fetch_into(url, &partial, have, expected_size, progress)? {
                Fetched::Complete => break,
                Fetched::Interrupted(reason) if resumes < MAX_RESUMES => {
                    resumes += 1;
                    tracing::info!(url, %reason, resumes, "download interrupted, resuming");
                }
                Fetched::Interrupted(reason) => {
                    return Err(ModelError::Download {
                        url: url.to_string(),
                        reason: format!("{reason}; gave up after {resumes} resumes"),
                    });
                }
            }
        }

        progress(InstallProgress::Verifying);
        let digests = digest_file(&partial).map_err(|e| ModelError::io("read downloaded file", &partial, e))?;
        if !expected.matches(&digests) {
            remove_quietly(&partial);
            return Err(ModelError::ChecksumMismatch {
                what: format!("the download of {url} ({} bytes)", commas(digests.size)),
                algo: expected.algo(),
                expected: expected.hex().to_string(),
                actual: expected.pick(&digests).to_string(),
                remedy: "the bad copy was deleted; run the install again, and if this repeats the file on the server has changed".into(),
            });
        }
        fs::rename(&partial, dest).map_err(|e| ModelError::io("move the verified download to", dest, e))?;
        Ok(digests)
    }

    fn fetch_into(
        &self,
        url: &str,
        partial: &Path,
        have: u64,
        expected_size: Option<u64>,
        progress: &mut dyn FnMut(InstallProgress),
    ) -> Result<Fetched, ModelError> {
        let mut req = self.agent.get(url).set("Accept-Encoding", "identity");
        if have > 0 {
            req = req.set("Range", &format!("bytes={have}-"));
        }
        let resp = match req.call() {
            Ok(r) => r,
            // Nothing left to send: what we have is complete (the checksum decides).
            Err(ureq::Error::Status(416, _)) if have > 0 => return Ok(Fetched::Complete),
            Err(e) => return Err(request_error(url, e)),
        };
        let content_length = resp.header("Content-Length").and_then(|v| v.trim().parse::<u64>().ok());
        let (append, total) = match resp.status() {
            206 => match resp.header("Content-Range").and_then(parse_content_range) {
                Some((start, total)) if start == have => (true, total.or(expected_size)),
                _ => {
                    // A resume at another offset than asked: start over.
                    remove_quietly(partial);
                    return Ok(Fetched::Interrupted("the server resumed at an unexpected offset".into()));
                }
            },
            200 => (false, content_length.or(expected_size)),
            code => {
                return Err(ModelError::Download {
                    url: url.to_string(),
                    reason: format!("unexpected HTTP status {code}"),
                })
            }
        };
        let mut file = if append { OpenOptions::new().append(true).open(partial) } else { File::create(partial) }
            .map_err(|e| ModelError::io("write", partial, e))?;

        let mut done = if append { have } else { 0 };
        progress(InstallProgress::Downloading { done, total });
        let mut reported = done;
        let mut reader = resp.into_reader();
        let mut buf = vec![0u8; 1 << 16];
        let outcome = loop {
            match reader.read(&mut buf) {
                Ok(0) => break None,
                Ok(n) => {
                    file.write_all(&buf[..n]).map_err(|e| ModelError::io("write", partial, e))?;
                    done += n as u64;
                    if done - reported >= PROGRESS_STEP {
                        progress(InstallProgress::Downloading { done, total });
                        reported = done;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Some(format!("the connection broke after {} bytes ({e})", commas(done))),
            }
        };
        file.flush().and_then(|_| file.sync_all()).map_err(|e| ModelError::io("write", partial, e))?;
        progress(InstallProgress::Downloading { done, total });
        if let Some(reason) = outcome {
            return Ok(Fetched::Interrupted(reason));
        }
        match total {
            Some(t) if done < t => {
                Ok(Fetched::Interrupted(format!("the connection closed at {} of {} bytes", commas(done), commas(t))))
            }
            _ => Ok(Fetched::Complete),
        }
    }
}

fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not delete file");
        }
    }
}

fn request_error(url: &str, e: ureq::Error) -> ModelError {
    let reason = match e {
        ureq::Error::Status(code, resp) => format!("the server answered HTTP {code} {}", resp.status_text()),
        ureq::Error::Transport(t) => transport_reason(&t),
    };
    ModelError::Download { url: url.to_string(), reason }
}

/// A transport failure in words, without repeating the URL.
fn transport_reason(t: &ureq::Transport) -> String {
    let mut reason = match t.kind() {
        ureq::ErrorKind::Dns => "the host name could not be resolved".to_string(),
        ureq::ErrorKind::ConnectionFailed => "the connection failed".to_string(),
        ureq::ErrorKind::Io => "network error".to_string(),
        ureq::ErrorKind::ProxyConnect => "the proxy could not be reached".to_string(),
        other => other.to_string(),
    };
    if let Some(m) = t.message() {
        reason.push_str(": ");
        reason.push_str(m);
    }
    if let Some(src) = std::error::Error::source(t) {
        reason.push_str(": ");
        reason.push_str(&src.to_string());
    }
    reason
}

/// `bytes 100-199/1000` -> `(100, Some(1000))`; `bytes 100-199/*` -> `(100, None)`.
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((start.trim().parse().ok()?, total))
}

/// Trust the operating system's CA bundle when there is one (as curl does), so that
/// corporate TLS proxies with their own root work; otherwise ureq's built-in roots.
fn system_tls_config() -> Option<Arc<ureq::rustls::ClientConfig>> {
    use ureq::rustls;
    use ureq::rustls::pki_types::pem::PemObject;
    use ureq::rustls::pki_types::CertificateDer;

    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(p));
    }
    for p in [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ] {
        candidates.push(PathBuf::from(p));
    }
    for path in candidates {
        let Ok(pem) = fs::read(&path) else { continue };
        let mut roots = rustls::RootCertStore::empty();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            continue;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
            .ok()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tracing::debug!(bundle = %path.display(), added, "using the system CA bundle");
        return Some(Arc::new(config));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testutil::{serve, Behavior};
    use sha2::{Digest, Sha256};

    fn body() -> Vec<u8> {
        (0..300_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
    }

    fn sha256(b: &[u8]) -> Checksum {
        Checksum::Sha256(hex::encode(Sha256::digest(b)))
    }

    fn fetcher() -> Fetcher {
        Fetcher::with_timeouts(Duration::from_secs(2), Duration::from_secs(5))
    }

    #[test]
    fn fresh_download_is_verified_and_renamed() {
        let data = body();
        let srv = serve(data.clone(), Behavior::Normal, 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let mut events = Vec::new();
        let d = fetcher()
            .download(&format!("{}/f.bin", srv.url), &dest, &sha256(&data), Some(data.len() as u64), &mut |p| {
                events.push(p)
            })
            .unwrap();
        assert_eq!(d.size, data.len() as u64);
        assert_eq!(fs::read(&dest).unwrap(), data);
        assert!(!partial_path(&dest).exists());
        assert!(events.contains(&InstallProgress::Verifying));
        assert!(
            events.contains(&InstallProgress::Downloading { done: data.len() as u64, total: Some(data.len() as u64) })
        );
    }

    #[test]
    fn existing_partial_is_resumed_with_a_range_request() {
        let data = body();
        let srv = serve(data.clone(), Behavior::Normal, 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        fs::write(partial_path(&dest), &data[..123_456]).unwrap();
        let mut first = None;
        fetcher()
            .download(&format!("{}/f.bin", srv.url), &dest, &sha256(&data), None, &mut |p| {
                if let InstallProgress::Downloading { done, total } = p {
                    first.get_or_insert((done, total));
                }
            })
            .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), data);
        let heads = srv.request_heads();
        assert_eq!(heads.len(), 1);
        assert!(heads[0].to_ascii_lowercase().contains("range: bytes=123456-"), "{}", heads[0]);
        assert_eq!(first, Some((123_456, Some(data.len() as u64))));
    }

    #[test]
    fn dropped_connection_is_resumed_automatically() {
        let data = body();
        let srv = serve(data.clone(), Behavior::CutFirstAfter(70_000), 3);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        fetcher()
            .download(&format!("{}/f.bin", srv.url), &dest, &sha256(&data), Some(data.len() as u64), &mut |_| {})
            .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), data);
        let heads = srv.request_heads();
        assert_eq!(heads.len(), 2);
        assert!(heads[1].to_ascii_lowercase().contains("range: bytes=70000-"), "{}", heads[1]);
    }

    #[test]
    fn server_without_range_support_restarts_cleanly() {
        let data = body();
        let srv = serve(data.clone(), Behavior::IgnoreRange, 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        fs::write(partial_path(&dest), b"stale bytes from another file").unwrap();
        fetcher().download(&format!("{}/x", srv.url), &dest, &sha256(&data), None, &mut |_| {}).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), data);
    }

    #[test]
    fn complete_partial_is_verified_without_a_request() {
        let data = body();
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        fs::write(partial_path(&dest), &data).unwrap();
        // Nothing listens on this URL: a request would fail.
        fetcher()
            .download("http://127.0.0.1:9/none", &dest, &sha256(&data), Some(data.len() as u64), &mut |_| {})
            .unwrap();
        assert_eq!(fs::read(&dest).unwrap(), data);
    }

    #[test]
    fn checksum_mismatch_deletes_the_bad_copy() {
        let data = body();
        let srv = serve(data.clone(), Behavior::Normal, 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let wrong = Checksum::Sha1("0".repeat(40));
        let err = fetcher().download(&format!("{}/f.bin", srv.url), &dest, &wrong, None, &mut |_| {}).unwrap_err();
        match &err {
            ModelError::ChecksumMismatch { algo, expected, actual, .. } => {
                assert_eq!(*algo, "SHA-1");
                assert_eq!(expected, &"0".repeat(40));
                assert_eq!(actual.len(), 40);
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("failed its SHA-1 check"), "{err}");
        assert!(!dest.exists());
        assert!(!partial_path(&dest).exists());
    }

    #[test]
    fn http_errors_and_unreachable_hosts_fail_fast() {
        let srv = serve(Vec::new(), Behavior::Status(404), 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f.bin");
        let err = fetcher()
            .download(&format!("{}/missing", srv.url), &dest, &Checksum::Sha1("0".repeat(40)), None, &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, ModelError::Download { .. }), "{err}");
        assert!(err.to_string().contains("404"), "{err}");

        // A port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let started = std::time::Instant::now();
        let err = fetcher()
            .download(&format!("http://127.0.0.1:{port}/f"), &dest, &Checksum::Sha1("0".repeat(40)), None, &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, ModelError::Download { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(!dest.exists());
    }

    #[test]
    fn content_range_parsing() {
        assert_eq!(parse_content_range("bytes 100-199/1000"), Some((100, Some(1000))));
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("items 1-2/3"), None);
        assert_eq!(parse_content_range("bytes x-1/2"), None);
    }

    #[test]
    fn partial_path_appends_suffix() {
        assert_eq!(partial_path(Path::new("/a/ggml-tiny.en.bin")), Path::new("/a/ggml-tiny.en.bin.partial"));
    }
}
