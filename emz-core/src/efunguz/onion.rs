//! Publishing the efunguz behind a Tor onion service.

use super::Efunguz;
use crate::error::{Error, Result};
use crate::tor::{OnionKey, TorAuth, TorControl};

impl Efunguz {
    /// Publishes this efunguz behind a v3 onion service created through Tor's control
    /// port (`control`, e.g. `127.0.0.1:9051`): onion port = publish port, forwarded to
    /// 127.0.0.1 (bind to `127.0.0.1` or `*`). Returns the onion without `.onion`; others
    /// reach us with `add_ehypha(our_public_key, onion, port)`. With [`OnionKey::File`]
    /// the address survives restarts. The service goes when the efunguz is dropped.
    pub fn publish_onion(&mut self, control: &str, auth: &TorAuth, key: &OnionKey) -> Result<String> {
        if let Some((_, id)) = &self.onion {
            return Err(Error::AlreadyPresent { what: "onion service", name: id.clone() });
        }
        let mut tc = TorControl::connect(control)?;
        tc.authenticate(auth)?;
        let service = tc.add_onion(self.port, self.port, key)?;
        self.onion = Some((tc, service.service_id.clone()));
        Ok(service.service_id)
    }

    /// The onion this efunguz publishes behind, if [`Efunguz::publish_onion`] made one.
    pub fn onion(&self) -> Option<&str> {
        self.onion.as_ref().map(|(_, id)| id.as_str())
    }

    /// Removes the onion service now (it also goes when the efunguz is dropped).
    pub fn unpublish_onion(&mut self) -> Result<()> {
        let (mut tc, id) =
            self.onion.take().ok_or(Error::AlreadyAbsent { what: "onion service", name: "(none published)".into() })?;
        // Dropping `tc` on failure closes the control connection, and Tor removes the
        // service with it: forgetting it here is right either way.
        tc.del_onion(&id)
    }
}
