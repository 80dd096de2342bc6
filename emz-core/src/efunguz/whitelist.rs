//! Who may subscribe to the efunguz: the keys the ZAP handler lets through.

use super::Efunguz;
use crate::error::{Error, Result};
use crate::keys::{check_key, read_keys_file};
use std::path::Path;

impl Efunguz {
    /// Public keys allowed to subscribe; empty = everyone.
    pub fn whitelist(&self) -> impl Iterator<Item = &str> {
        self.whitelist.iter().map(String::as_str)
    }

    /// Allows `key` to subscribe (from the next handshake on).
    pub fn add_whitelist_key(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        if !self.whitelist.insert(key.to_string()) {
            return Err(Error::AlreadyPresent { what: "whitelist key", name: key.to_string() });
        }
        Ok(())
    }

    pub fn add_whitelist_keys<I, S>(&mut self, keys: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        for k in &keys {
            check_key(k)?;
        }
        self.whitelist.extend(keys);
        Ok(())
    }

    pub fn del_whitelist_key(&mut self, key: &str) -> Result<()> {
        if !self.whitelist.remove(key) {
            return Err(Error::AlreadyAbsent { what: "whitelist key", name: key.to_string() });
        }
        Ok(())
    }

    /// Empties the whitelist: everyone may subscribe again.
    pub fn clear_whitelist(&mut self) {
        self.whitelist.clear();
    }

    /// Adds the keys of a file (one a line, see [`crate::read_keys_file`]); returns how
    /// many were read. Nothing is added when any line is bad.
    pub fn read_whitelist_file(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        let keys = read_keys_file(path)?;
        let n = keys.len();
        self.whitelist.extend(keys);
        Ok(n)
    }

    /// Whether a subscriber with this Z85 key may subscribe.
    pub(super) fn admits(&self, key: &str) -> bool {
        self.whitelist.is_empty() || self.whitelist.contains(key)
    }
}
