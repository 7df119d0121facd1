//! Lock files on storage: encrypted as restic encrypts its unpacked files, in the repository's
//! `locks/` folder. rustic_core 0.13 knows no lock file type and keeps its encryption private,
//! so both are done here: the cipher is the same crate rustic uses (AES-256-CTR with
//! Poly1305-AES under the repository's master key), the folder is reached through our own
//! backends (`local.rs`, `opendal.rs`).

use std::io::ErrorKind as IoKind;

use aes256ctr_poly1305aes::aead::Aead;
use aes256ctr_poly1305aes::{Aes256CtrPoly1305Aes, Key, Nonce};
use bytes::Bytes;
use opendal::options::ListOptions;
use rustic_core::repofile::MasterKey;
use rustic_core::RusticResult;
use sha2::{Digest, Sha256};

use super::LockFile;
use crate::repo::local::{io_error, PrivateLocal};
use crate::repo::opendal::{backend_error, OpenDalBackend};

/// The `locks/` folder of one repository, by file name (the lock's id in hex).
pub trait LockDir: Send + Sync {
    /// Every lock file with its size; other names (temporary uploads) are left out.
    fn list(&self) -> RusticResult<Vec<(String, u64)>>;
    /// `None` when the file is gone: holders remove their old lock on every refresh.
    fn read(&self, name: &str) -> RusticResult<Option<Vec<u8>>>;
    /// Written whole or not at all: a truncated lock would block everyone as unreadable.
    fn write(&self, name: &str, data: &[u8]) -> RusticResult<()>;
    /// A file already gone counts as removed.
    fn remove(&self, name: &str) -> RusticResult<()>;
}

const DIR: &str = "locks";

/// restic's names: 64 hex digits.
fn is_lock_name(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Encrypts and decrypts lock files with a repository's master key.
pub struct Codec(Aes256CtrPoly1305Aes);

impl Codec {
    pub fn new(key: &MasterKey) -> Self {
        // restic's key layout, as rustic's `Key::from_keys`: the AES key, then Poly1305-AES's
        // k and r (32, 16 and 16 bytes in every key file that opens a repository).
        let mut k = Key::default();
        k[0..32].copy_from_slice(&key.encrypt);
        k[32..48].copy_from_slice(&key.mac.k);
        k[48..64].copy_from_slice(&key.mac.r);
        Self(Aes256CtrPoly1305Aes::new(&k))
    }

    /// The stored bytes of `lock` and their name (the SHA-256 of those bytes, as restic names
    /// every file). The JSON is stored uncompressed, which restic reads in every version.
    pub fn encode(&self, lock: &LockFile) -> (String, Vec<u8>) {
        let json = serde_json::to_vec(lock).expect("a lock serializes");
        let mut nonce = Nonce::default();
        getrandom::fill(&mut nonce).expect("the OS has random numbers");
        let sealed = self
            .0
            .encrypt(&nonce, json.as_slice())
            .expect("encryption of a small buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        (hex::encode(Sha256::digest(&out)), out)
    }

    /// The lock stored as `name`; restic's are zstd-compressed in repository version 2.
    pub fn decode(&self, name: &str, data: &[u8]) -> Result<LockFile, String> {
        if hex::encode(Sha256::digest(data)) != name.to_ascii_lowercase() {
            return Err("its content does not match its name".into());
        }
        if data.len() < 32 {
            return Err("too short".into());
        }
        let plain = self
            .0
            .decrypt(Nonce::from_slice(&data[..16]), &data[16..])
            .map_err(|_| "it does not decrypt with this repository's key".to_string())?;
        let json = match plain.first() {
            Some(2) => zstd::decode_all(&plain[1..]).map_err(|e| format!("bad zstd data: {e}"))?,
            _ => plain,
        };
        serde_json::from_slice(&json).map_err(|e| format!("bad lock JSON: {e}"))
    }
}

impl LockDir for PrivateLocal {
    fn list(&self) -> RusticResult<Vec<(String, u64)>> {
        let dir = self.root.join(DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == IoKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_lock_name(&name) {
                continue;
            }
            match entry.metadata() {
                Ok(m) if m.is_file() => out.push((name, m.len())),
                Ok(_) => {}
                Err(e) if e.kind() == IoKind::NotFound => {}
                Err(e) => return Err(io_error("read", &entry.path(), e)),
            }
        }
        Ok(out)
    }

    fn read(&self, name: &str) -> RusticResult<Option<Vec<u8>>> {
        let path = self.root.join(DIR).join(name);
        match std::fs::read(&path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == IoKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }

    fn write(&self, name: &str, data: &[u8]) -> RusticResult<()> {
        self.write_in(&self.root.join(DIR), name, &[Bytes::copy_from_slice(data)])
    }

    fn remove(&self, name: &str) -> RusticResult<()> {
        let path = self.root.join(DIR).join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != IoKind::NotFound => Err(io_error("remove", &path, e)),
            _ => Ok(()),
        }
    }
}

impl LockDir for OpenDalBackend {
    fn list(&self) -> RusticResult<Vec<(String, u64)>> {
        let dir = format!("{DIR}/");
        let lister = match self.operator.lister_options(&dir, ListOptions::default()) {
            Ok(l) => l,
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(backend_error("listing", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in lister {
            let entry = entry.map_err(|e| backend_error("listing", &dir, e))?;
            let meta = entry.metadata();
            if meta.is_file() && is_lock_name(entry.name()) {
                out.push((entry.name().to_string(), meta.content_length()));
            }
        }
        Ok(out)
    }

    fn read(&self, name: &str) -> RusticResult<Option<Vec<u8>>> {
        let p = format!("{DIR}/{name}");
        match self.operator.read(&p) {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(e) if e.kind() == opendal::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend_error("reading", &p, e)),
        }
    }

    fn write(&self, name: &str, data: &[u8]) -> RusticResult<()> {
        self.put(&format!("{DIR}/{name}"), vec![Bytes::copy_from_slice(data)])
    }

    fn remove(&self, name: &str) -> RusticResult<()> {
        let p = format!("{DIR}/{name}");
        match self.operator.delete(&p) {
            Err(e) if e.kind() != opendal::ErrorKind::NotFound => {
                Err(backend_error("removing", &p, e))
            }
            _ => Ok(()),
        }
    }
}
