//! SHA-1 / SHA-256 of files and of data as it is written.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha1::Sha1;
use sha2::{Digest, Sha256};

/// A pinned checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    Sha1(String),
    Sha256(String),
}

impl Checksum {
    pub fn algo(&self) -> &'static str {
        match self {
            Checksum::Sha1(_) => "SHA-1",
            Checksum::Sha256(_) => "SHA-256",
        }
    }

    pub fn hex(&self) -> &str {
        match self {
            Checksum::Sha1(h) | Checksum::Sha256(h) => h,
        }
    }

    /// The digest of the same kind out of a pair computed in one pass.
    pub fn pick<'a>(&self, d: &'a FileDigests) -> &'a str {
        match self {
            Checksum::Sha1(_) => &d.sha1,
            Checksum::Sha256(_) => &d.sha256,
        }
    }

    pub fn matches(&self, d: &FileDigests) -> bool {
        self.pick(d).eq_ignore_ascii_case(self.hex())
    }
}

/// Both digests and the size of a file, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    pub sha1: String,
    pub sha256: String,
    pub size: u64,
}

/// Hash a whole file in one pass.
pub fn digest_file(path: &Path) -> io::Result<FileDigests> {
    let mut f = File::open(path)?;
    let mut s1 = Sha1::new();
    let mut s256 = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        s1.update(&buf[..n]);
        s256.update(&buf[..n]);
        size += n as u64;
    }
    Ok(FileDigests { sha1: hex::encode(s1.finalize()), sha256: hex::encode(s256.finalize()), size })
}

/// SHA-256 of a file.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut HashWriter { inner: io::sink(), hasher: &mut h })?;
    Ok(hex::encode(h.finalize()))
}

/// Passes writes through while hashing them.
pub struct HashWriter<'a, W: Write> {
    pub inner: W,
    pub hasher: &'a mut Sha256,
}

impl<W: Write> Write for HashWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        let d = digest_file(&p).unwrap();
        assert_eq!(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(d.size, 3);
        assert_eq!(sha256_file(&p).unwrap(), d.sha256);
        assert!(Checksum::Sha1("A9993E364706816ABA3E25717850C26C9CD0D89D".into()).matches(&d));
        assert!(!Checksum::Sha256("00".into()).matches(&d));
    }
}
