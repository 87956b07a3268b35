//! [`Name`]: the text of image names, call sites and key paths in the
//! machine's records, shared instead of copied.
//!
//! Every handle event names its owner, the key it refers to and the frame
//! that acted; a long run records millions of them. A `Name` is either a
//! `&'static str` (the framework's and kernel's own symbols) or an
//! `Arc<str>` made once (a driver's image, its callbacks' symbols, a key's
//! path), so recording one costs a reference-count increment at most.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// An immutable text that is cheap to clone: a `&'static str` or a shared
/// `Arc<str>`. It compares, hashes and orders as its text, and derefs to
/// `str`.
///
/// ```
/// use kmdf_sim::control::Name;
/// let a = Name::from("client.sys");
/// let b = Name::copy_of(&String::from("client.sys"));
/// assert_eq!(a, b);
/// assert_eq!(a, "client.sys");
/// assert_eq!(b.len(), 10);
/// ```
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    /// A name that copies `text` once; its clones share that copy.
    pub fn copy_of(text: &str) -> Name {
        Name(Repr::Shared(Arc::from(text)))
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }

    /// Whether both names share one text (same allocation or literal) — a
    /// fast sufficient test for equality.
    #[inline]
    pub(crate) fn same_text(&self, other: &Name) -> bool {
        std::ptr::eq(self.as_str(), other.as_str())
    }
}

impl Default for Name {
    fn default() -> Self {
        Name(Repr::Static(""))
    }
}

impl Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Name {
    fn from(text: &'static str) -> Self {
        Name(Repr::Static(text))
    }
}

impl From<String> for Name {
    fn from(text: String) -> Self {
        Name(Repr::Shared(Arc::from(text)))
    }
}

impl From<&String> for Name {
    fn from(text: &String) -> Self {
        Name::copy_of(text)
    }
}

impl From<Arc<str>> for Name {
    fn from(text: Arc<str>) -> Self {
        Name(Repr::Shared(text))
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.as_str().to_string()
    }
}

impl PartialEq for Name {
    #[inline]
    fn eq(&self, other: &Name) -> bool {
        self.same_text(other) || self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Name> for String {
    fn eq(&self, other: &Name) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_its_text_however_it_is_held() {
        let literal = Name::from("Wdf01000.sys");
        let shared = Name::copy_of("Wdf01000.sys");
        let clone = shared.clone();
        assert!(clone.same_text(&shared), "a clone shares the text");
        assert!(!literal.same_text(&shared));
        assert_eq!(literal, shared);
        assert_ne!(literal, Name::from("ntoskrnl.exe"));
        assert_eq!(format!("{literal:>14}|{shared:?}"), "  Wdf01000.sys|\"Wdf01000.sys\"");
        let mut set = std::collections::HashSet::new();
        set.insert(literal);
        assert!(set.contains("Wdf01000.sys"), "hashes as its text");
        let (a, b) = (Name::from("a"), Name::copy_of("b"));
        assert!(a < b);
        assert_eq!(b.cmp(&a), std::cmp::Ordering::Greater);
        assert_eq!(String::from(shared), "Wdf01000.sys");
        assert!(Name::default().is_empty());
    }
}
