//! Typed ids: opaque UUID strings that cannot be mixed up with each other.

use std::fmt;
use std::marker::PhantomData;

/// The id of a record of kind `K`. Stored and sent as a UUID string.
pub struct Id<K> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

/// Marker of account ids.
pub enum Account {}
/// Marker of session (refresh-token family) ids.
pub enum Session {}

pub type AccountId = Id<Account>;
pub type SessionId = Id<Session>;

impl<K> Id<K> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<K> From<String> for Id<K> {
    fn from(value: String) -> Self {
        Id {
            value,
            kind: PhantomData,
        }
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Id::from(self.value.clone())
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K> Eq for Id<K> {}

impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}
