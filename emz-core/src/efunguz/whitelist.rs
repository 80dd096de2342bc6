//! Who may subscribe to the efunguz: the keys the ZAP handler lets through.
//!
//! Two modes: open (everyone, [`Efunguz::allow_everyone`]) or a whitelist, which may be
//! empty and then admits nobody. Removing keys never widens access. Every change that
//! narrows access also cuts the live sessions at the next update (see
//! [`Efunguz::update`]): a key that is no longer allowed stops receiving at once, not
//! only on its next handshake.

use super::Efunguz;
use crate::error::{Error, Result};
use crate::keys::{check_key, read_keys_file};
use std::path::Path;

impl Efunguz {
    /// Public keys allowed to subscribe (none listed in open mode; see
    /// [`Efunguz::is_open`]). An empty whitelist outside open mode admits nobody.
    pub fn whitelist(&self) -> impl Iterator<Item = &str> {
        self.whitelist.iter().map(String::as_str)
    }

    /// Whether everyone may subscribe (open mode, no whitelist).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Lets everyone subscribe and forgets the whitelist. Widening: no session is cut.
    pub fn allow_everyone(&mut self) {
        self.open = true;
        self.whitelist.clear();
    }

    /// Allows `key` to subscribe (from its next handshake on). On an open efunguz this
    /// switches to whitelist mode with `key` alone: the sessions of every other key are
    /// cut at the next update.
    pub fn add_whitelist_key(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        if self.whitelist.contains(key) {
            return Err(Error::AlreadyPresent { what: "whitelist key", name: key.to_string() });
        }
        self.close_open_mode();
        self.whitelist.insert(key.to_string());
        Ok(())
    }

    /// As [`Efunguz::add_whitelist_key`] for several keys; nothing changes when one is bad.
    pub fn add_whitelist_keys<I, S>(&mut self, keys: I) -> Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        for k in &keys {
            check_key(k)?;
        }
        self.close_open_mode();
        self.whitelist.extend(keys);
        Ok(())
    }

    /// Stops allowing `key`: its live sessions are cut at the next update. Deleting the
    /// last key leaves nobody allowed.
    pub fn del_whitelist_key(&mut self, key: &str) -> Result<()> {
        if !self.whitelist.remove(key) {
            return Err(Error::AlreadyAbsent { what: "whitelist key", name: key.to_string() });
        }
        self.narrow();
        Ok(())
    }

    /// Empties the whitelist and leaves open mode: nobody may subscribe, and every live
    /// session is cut at the next update.
    pub fn clear_whitelist(&mut self) {
        if self.open || !self.whitelist.is_empty() {
            self.narrow();
        }
        self.open = false;
        self.whitelist.clear();
    }

    /// Adds the keys of a file (one a line, see [`crate::read_keys_file`]); returns how
    /// many were read. Nothing is added when any line is bad. On an open efunguz this
    /// narrows access to the file's keys, as [`Efunguz::add_whitelist_keys`] does.
    pub fn read_whitelist_file(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        let keys = read_keys_file(path)?;
        let n = keys.len();
        self.close_open_mode();
        self.whitelist.extend(keys);
        Ok(n)
    }

    /// Leaves open mode (a narrowing: sessions are cut at the next update).
    fn close_open_mode(&mut self) {
        if self.open {
            self.open = false;
            self.narrow();
        }
    }

    /// Whether a subscriber with this Z85 key may subscribe.
    pub(super) fn admits(&self, key: &str) -> bool {
        self.open || self.whitelist.contains(key)
    }
}
