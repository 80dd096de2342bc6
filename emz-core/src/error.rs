//! The one error type of the crate, and its stable kinds (the C and Python faces map
//! kinds to result codes and exception classes).

use crate::wire::MAX_TITLE_LEN;
use std::fmt;
use std::path::PathBuf;

/// Declares a C-like enum once, with its stable number and name, and the table the C and
/// Python faces are checked against (`ALL`, `code`, `name`, `from_code`).
macro_rules! stable_enum {
    ($(#[$meta:meta])* pub enum $ty:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal => $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[non_exhaustive]
        pub enum $ty {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $ty {
            /// Every variant, in the order of their numbers.
            pub const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            /// The stable number (the C face's value).
            pub const fn code(self) -> u32 {
                self as u32
            }

            /// The stable name: the variant's name for error kinds, lower case for states.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// The variant with this stable number.
            pub const fn from_code(code: u32) -> Option<$ty> {
                match code {
                    $($code => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use stable_enum;

stable_enum! {
    /// What went wrong, coarsely: stable across releases, one-to-one with the C result
    /// codes (`code()`) and the Python exception classes (`name()` + `Error`).
    pub enum ErrorKind {
        /// A key that is not 40 characters of Z85 encoding 32 bytes.
        InvalidKey = 1 => "InvalidKey",
        /// An onion that is not a valid v3 address, or a host that cannot be used.
        InvalidAddress = 2 => "InvalidAddress",
        /// Port 0 where a real port is needed.
        InvalidPort = 3 => "InvalidPort",
        /// A title with a NUL byte, or longer than [`crate::MAX_TITLE_LEN`] bytes.
        InvalidTitle = 4 => "InvalidTitle",
        /// Any other argument out of its domain.
        InvalidArgument = 5 => "InvalidArgument",
        /// Adding what is already there.
        AlreadyPresent = 6 => "AlreadyPresent",
        /// Looking up what is not there.
        Absent = 7 => "Absent",
        /// Deleting what is not there.
        AlreadyAbsent = 8 => "AlreadyAbsent",
        /// Pausing a paused etale.
        AlreadyPaused = 9 => "AlreadyPaused",
        /// Resuming an etale that is not paused.
        AlreadyResumed = 10 => "AlreadyResumed",
        /// The publish endpoint is taken.
        AddressInUse = 11 => "AddressInUse",
        /// Out of sockets or file descriptors.
        Limit = 12 => "Limit",
        /// Reading a file failed, or a line of it is not a key.
        Io = 13 => "Io",
        /// The linked libzmq has no CURVE.
        CurveUnavailable = 14 => "CurveUnavailable",
        /// libzmq refused an operation.
        Zmq = 15 => "Zmq",
        /// Tor's control port is missing or refused us.
        Tor = 16 => "Tor",
    }
}

/// Every fallible operation of emyzelium returns this. `Display` and `Debug` show at
/// most a short prefix of a key, so a secret key never reaches a log whole.
#[non_exhaustive]
pub enum Error {
    /// A CURVE key that is not 40 characters of Z85 encoding 32 bytes.
    InvalidKey {
        /// The key as given (shown redacted).
        key: String,
        /// Why it is not a key.
        reason: String,
    },
    /// An onion that is not a v3 address, or a host that cannot be connected to.
    InvalidAddress {
        /// The address as given.
        address: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Port 0 where a real port is needed.
    InvalidPort {
        /// Which port ("publish port", "ehypha port", ...).
        what: &'static str,
    },
    /// A title containing a NUL byte (the wire format ends titles with one), or longer
    /// than [`crate::MAX_TITLE_LEN`] bytes.
    InvalidTitle {
        /// The title as given.
        title: String,
    },
    /// Any other argument out of its domain (a knob's value, say).
    InvalidArgument {
        /// Which argument, and its domain.
        what: String,
    },
    /// Adding what is already there (an ehypha's key, an etale's title, a whitelist key).
    AlreadyPresent {
        /// What kind of thing ("ehypha", "etale", "whitelist key").
        what: &'static str,
        /// Its key or title.
        name: String,
    },
    /// Looking up what is not there.
    Absent {
        /// What kind of thing ("ehypha", "etale").
        what: &'static str,
        /// Its key or title.
        name: String,
    },
    /// Deleting what is not there.
    AlreadyAbsent {
        /// What kind of thing ("ehypha", "etale", "whitelist key").
        what: &'static str,
        /// Its key or title.
        name: String,
    },
    /// Pausing an etale that is paused already.
    AlreadyPaused {
        /// Its title.
        title: String,
    },
    /// Resuming an etale that is not paused.
    AlreadyResumed {
        /// Its title.
        title: String,
    },
    /// The publish endpoint is taken by another socket.
    AddressInUse {
        /// The endpoint that could not be bound.
        endpoint: String,
    },
    /// Out of sockets or file descriptors.
    Limit {
        /// Which limit, and how to raise it.
        what: String,
    },
    /// Reading a whitelist file failed, or a line of it is not a key.
    Io {
        /// The file.
        path: PathBuf,
        /// The line (from 1) that is not a key, if the file was read.
        line: Option<usize>,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The linked libzmq was built without CURVE.
    CurveUnavailable,
    /// libzmq refused an operation.
    Zmq {
        /// The libzmq call that failed.
        op: &'static str,
        /// libzmq's error number (errno).
        code: i32,
        /// libzmq's text for it.
        message: String,
    },
    /// Tor's control port is missing, refused us, or refused a command.
    Tor {
        /// What went wrong.
        what: String,
    },
}

impl Error {
    /// The stable kind of this error, for matching across releases and faces.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidKey { .. } => ErrorKind::InvalidKey,
            Error::InvalidAddress { .. } => ErrorKind::InvalidAddress,
            Error::InvalidPort { .. } => ErrorKind::InvalidPort,
            Error::InvalidTitle { .. } => ErrorKind::InvalidTitle,
            Error::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            Error::AlreadyPresent { .. } => ErrorKind::AlreadyPresent,
            Error::Absent { .. } => ErrorKind::Absent,
            Error::AlreadyAbsent { .. } => ErrorKind::AlreadyAbsent,
            Error::AlreadyPaused { .. } => ErrorKind::AlreadyPaused,
            Error::AlreadyResumed { .. } => ErrorKind::AlreadyResumed,
            Error::AddressInUse { .. } => ErrorKind::AddressInUse,
            Error::Limit { .. } => ErrorKind::Limit,
            Error::Io { .. } => ErrorKind::Io,
            Error::CurveUnavailable => ErrorKind::CurveUnavailable,
            Error::Zmq { .. } => ErrorKind::Zmq,
            Error::Tor { .. } => ErrorKind::Tor,
        }
    }

    pub(crate) fn zmq(op: &'static str, e: crate::sys::ZmqError) -> Self {
        if e.0 == crate::sys::EMFILE {
            return Error::Limit { what: format!("{op}: too many sockets or open files ({})", e.message()) };
        }
        Error::Zmq { op, code: e.0, message: e.message() }
    }
}

/// Shortens the key in messages: a secret key must never end up in a log whole.
pub(crate) fn redact(key: &str) -> String {
    let head: String = key.chars().take(8).collect();
    if key.chars().count() > 8 {
        format!("{head}…")
    } else {
        head
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidKey { key, reason } => write!(f, "invalid key {:?}: {reason}", redact(key)),
            Error::InvalidAddress { address, reason } => write!(f, "invalid address {address:?}: {reason}"),
            Error::InvalidPort { what } => write!(f, "invalid port: {what} must be 1..=65535"),
            Error::InvalidTitle { title } if title.len() > MAX_TITLE_LEN => write!(
                f,
                "invalid title {:?} ({} bytes): titles must be at most {MAX_TITLE_LEN} bytes",
                shorten(title),
                title.len()
            ),
            Error::InvalidTitle { title } => {
                write!(f, "invalid title {:?}: titles must not contain a NUL byte", shorten(title))
            }
            Error::InvalidArgument { what } => write!(f, "invalid argument: {what}"),
            Error::AlreadyPresent { what, name } => write!(f, "{what} {name:?} is already present"),
            Error::Absent { what, name } => write!(f, "{what} {name:?} is absent"),
            Error::AlreadyAbsent { what, name } => write!(f, "{what} {name:?} is already absent"),
            Error::AlreadyPaused { title } => write!(f, "etale {title:?} is already paused"),
            Error::AlreadyResumed { title } => write!(f, "etale {title:?} is already resumed"),
            Error::AddressInUse { endpoint } => write!(f, "address in use: {endpoint}"),
            Error::Limit { what } => write!(f, "limit reached: {what}"),
            Error::Io { path, line: Some(n), source } => write!(f, "{}:{n}: {source}", path.display()),
            Error::Io { path, line: None, source } => write!(f, "{}: {source}", path.display()),
            Error::CurveUnavailable => {
                write!(f, "the linked libzmq has no CURVE support (build with feature `vendored`)")
            }
            Error::Zmq { op, code, message } => write!(f, "{op}: {message} (errno {code})"),
            Error::Tor { what } => write!(f, "tor: {what}"),
        }
    }
}

/// The start of a long title, enough to recognise it.
fn shorten(title: &str) -> String {
    const SHOWN: usize = 64;
    if title.chars().count() <= SHOWN {
        title.to_string()
    } else {
        format!("{}…", title.chars().take(SHOWN).collect::<String>())
    }
}

/// Written out rather than derived: a derived `Debug` prints `InvalidKey`'s key whole.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = format!("{:?}", self.kind());
        let mut d = f.debug_struct(&name);
        match self {
            Error::InvalidKey { key, reason } => d.field("key", &redact(key)).field("reason", reason),
            Error::InvalidAddress { address, reason } => d.field("address", address).field("reason", reason),
            Error::InvalidPort { what } => d.field("what", what),
            Error::InvalidTitle { title } => d.field("title", &shorten(title)).field("len", &title.len()),
            Error::InvalidArgument { what } | Error::Limit { what } | Error::Tor { what } => d.field("what", what),
            Error::AlreadyPresent { what, name }
            | Error::Absent { what, name }
            | Error::AlreadyAbsent { what, name } => d.field("what", what).field("name", name),
            Error::AlreadyPaused { title } | Error::AlreadyResumed { title } => d.field("title", title),
            Error::AddressInUse { endpoint } => d.field("endpoint", endpoint),
            Error::Io { path, line, source } => d.field("path", path).field("line", line).field("source", source),
            Error::CurveUnavailable => &mut d,
            Error::Zmq { op, code, message } => d.field("op", op).field("code", code).field("message", message),
        };
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `std::result::Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps a libzmq error to ours, naming the operation that failed (for `map_err`).
pub(crate) fn zerr(op: &'static str) -> impl FnOnce(crate::sys::ZmqError) -> Error {
    move |e| Error::zmq(op, e)
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;
    use crate::EhyphaState;

    #[test]
    fn tables_are_one_to_one() {
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(k.code(), i as u32 + 1, "error kinds are numbered from 1 without gaps");
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
            assert_eq!(format!("{k:?}"), k.name());
        }
        for (i, s) in EhyphaState::ALL.iter().enumerate() {
            assert_eq!(s.code(), i as u32, "states are numbered from 0 without gaps");
            assert_eq!(EhyphaState::from_code(s.code()), Some(*s));
            assert_eq!(format!("{s:?}").to_lowercase(), s.name());
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(EhyphaState::from_code(EhyphaState::ALL.len() as u32), None);
    }
}
