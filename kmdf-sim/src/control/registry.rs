//! The registry the simulated kernel serves: a tree of keys with typed values.
//!
//! Names compare case-insensitively, as the configuration manager does.
//! ASSUMPTION: ASCII case folding stands in for the registry's Unicode
//! upcase table; every name the driver and the tests use is ASCII.

use std::collections::BTreeMap;

/// One registry value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegValue {
    /// The value's name as it was written (case preserved).
    pub name: String,
    /// `REG_*` type.
    pub kind: u32,
    /// Raw data.
    pub data: Vec<u8>,
}

/// One registry key node.
#[derive(Debug, Clone)]
pub struct KeyNode {
    /// Name of this key (case preserved).
    pub name: String,
    /// Parent node; `None` for the root.
    pub parent: Option<usize>,
    /// Subkeys by folded name.
    pub children: BTreeMap<String, usize>,
    /// Values by folded name.
    pub values: BTreeMap<String, RegValue>,
    /// Created with `REG_OPTION_VOLATILE`.
    pub volatile: bool,
}

/// Why a path did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// A component is missing.
    NotFound,
    /// The path is empty or malformed (`\\`, leading backslash in a relative name).
    Invalid,
}

/// The registry tree. Node 0 is `\Registry`.
#[derive(Debug, Clone)]
pub struct Registry {
    nodes: Vec<KeyNode>,
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with the machine hives a driver can reach.
    pub fn new() -> Self {
        let mut r = Registry {
            nodes: vec![KeyNode {
                name: "Registry".into(),
                parent: None,
                children: BTreeMap::new(),
                values: BTreeMap::new(),
                volatile: false,
            }],
        };
        for path in [
            r"\Registry\Machine\SYSTEM\CurrentControlSet\Services",
            r"\Registry\Machine\SYSTEM\CurrentControlSet\Control",
            r"\Registry\Machine\SOFTWARE",
            r"\Registry\Machine\HARDWARE\DEVICEMAP",
            r"\Registry\User",
        ] {
            r.create_path(path).expect("built-in registry paths are well formed");
        }
        r
    }

    /// The node with this id.
    pub fn node(&self, id: usize) -> &KeyNode {
        &self.nodes[id]
    }

    /// Splits a path into components; rejects empty components.
    fn components(path: &str) -> Result<Vec<&str>, PathError> {
        let parts: Vec<&str> = path.split('\\').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(PathError::Invalid);
        }
        Ok(parts)
    }

    /// Resolves `name` below `base` (`None` = absolute path starting with `\Registry`).
    pub fn lookup(&self, base: Option<usize>, name: &str) -> Result<usize, PathError> {
        let (mut node, rest) = match base {
            None => {
                let rest = name.strip_prefix('\\').ok_or(PathError::Invalid)?;
                let mut parts = Self::components(rest)?;
                if fold(parts[0]) != "registry" {
                    return Err(PathError::NotFound);
                }
                parts.remove(0);
                (0, parts)
            }
            Some(b) => {
                if name.is_empty() {
                    return Ok(b);
                }
                (b, Self::components(name)?)
            }
        };
        for part in rest {
            node = *self.nodes[node].children.get(&fold(part)).ok_or(PathError::NotFound)?;
        }
        Ok(node)
    }

    /// Opens or creates the key `name` below `base`; returns (node, created).
    /// ASSUMPTION: like `ZwCreateKey`, only the last component is created; a
    /// missing intermediate key fails with `NotFound`.
    pub fn create(&mut self, base: Option<usize>, name: &str, volatile: bool) -> Result<(usize, bool), PathError> {
        if let Ok(id) = self.lookup(base, name) {
            return Ok((id, false));
        }
        let (parent_path, leaf) = match name.rfind('\\') {
            Some(i) => (&name[..i], &name[i + 1..]),
            None => ("", name),
        };
        if leaf.is_empty() {
            return Err(PathError::Invalid);
        }
        let parent = match (base, parent_path.is_empty()) {
            (Some(b), true) => b,
            (None, true) => return Err(PathError::Invalid),
            (b, false) => self.lookup(b, parent_path)?,
        };
        Ok((self.add_child(parent, leaf, volatile), true))
    }

    fn add_child(&mut self, parent: usize, leaf: &str, volatile: bool) -> usize {
        let id = self.nodes.len();
        self.nodes.push(KeyNode {
            name: leaf.to_string(),
            parent: Some(parent),
            children: BTreeMap::new(),
            values: BTreeMap::new(),
            volatile,
        });
        self.nodes[parent].children.insert(fold(leaf), id);
        id
    }

    /// Creates every missing key along an absolute path (test and machine setup).
    pub fn create_path(&mut self, path: &str) -> Result<usize, PathError> {
        let rest = path.strip_prefix(r"\Registry").ok_or(PathError::Invalid)?;
        let mut node = 0;
        if rest.is_empty() {
            return Ok(0);
        }
        for part in Self::components(rest.strip_prefix('\\').ok_or(PathError::Invalid)?)? {
            node = match self.nodes[node].children.get(&fold(part)) {
                Some(&id) => id,
                None => self.add_child(node, part, false),
            };
        }
        Ok(node)
    }

    /// Full path of a node, `\Registry\...`.
    pub fn path_of(&self, id: usize) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(n) = cur {
            parts.push(self.nodes[n].name.as_str());
            cur = self.nodes[n].parent;
        }
        parts.reverse();
        format!(r"\{}", parts.join(r"\"))
    }

    /// Sets a value.
    pub fn set_value(&mut self, id: usize, name: &str, kind: u32, data: Vec<u8>) {
        self.nodes[id].values.insert(fold(name), RegValue { name: name.to_string(), kind, data });
    }

    /// Reads a value.
    pub fn value(&self, id: usize, name: &str) -> Option<&RegValue> {
        self.nodes[id].values.get(&fold(name))
    }

    /// Subkeys of a node in enumeration order.
    pub fn subkeys(&self, id: usize) -> Vec<usize> {
        self.nodes[id].children.values().copied().collect()
    }

    /// Values of a node in enumeration order.
    pub fn values(&self, id: usize) -> Vec<&RegValue> {
        self.nodes[id].values.values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_case_insensitively_and_create_only_the_leaf() {
        let mut r = Registry::new();
        let services = r.lookup(None, r"\REGISTRY\machine\system\CurrentControlSet\services").unwrap();
        assert_eq!(r.path_of(services), r"\Registry\Machine\SYSTEM\CurrentControlSet\Services");
        assert_eq!(r.create(Some(services), r"a\b", false), Err(PathError::NotFound));
        let (a, created) = r.create(Some(services), "a", false).unwrap();
        assert!(created);
        assert_eq!(r.create(Some(services), "A", false).unwrap(), (a, false));
        assert_eq!(r.lookup(Some(services), r"a\\b"), Err(PathError::Invalid));
        assert_eq!(r.lookup(None, r"Registry\Machine"), Err(PathError::Invalid));
        r.set_value(a, "Level", 4, vec![1, 0, 0, 0]);
        assert_eq!(r.value(a, "LEVEL").unwrap().name, "Level");
    }
}
