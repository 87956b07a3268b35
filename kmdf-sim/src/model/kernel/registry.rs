//! The registry the simulated kernel serves: a tree of keys with typed values.
//!
//! Names compare case-insensitively, as the configuration manager does.
//! ASSUMPTION: ASCII case folding stands in for the registry's Unicode
//! upcase table; every name the driver and the tests use is ASCII.

use crate::abi::{HANDLE, NTSTATUS};
use crate::model::State;
use crate::model::call_record::{Journal, RegistryAccess};
use crate::model::kernel::handles::{HandleEntry, HandleOwner};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Resolved paths the registry remembers before it starts over (bounds the
/// cache whatever paths a run uses).
const RESOLVED_KEPT: usize = 4096;

/// Hashes a path by its length and a few eight-byte words of it — the
/// first, one from the middle and the last sixteen bytes — so a long path
/// costs no more than a short one (paths are trusted, short keys of an
/// in-process cache; no flooding to resist; paths that share those bytes
/// and their length only share a bucket, the map compares whole keys).
#[derive(Default)]
struct PathHasher(u64);

impl PathHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
}

impl Hasher for PathHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(w)
        };
        self.mix(n as u64);
        if n >= 16 {
            self.mix(word(0));
            self.mix(word(n / 2 - 4));
            self.mix(word(n - 16));
            self.mix(word(n - 8));
        } else if n >= 8 {
            self.mix(word(0));
            self.mix(word(n - 8));
        } else {
            self.mix(bytes.iter().fold(0, |w, &b| (w << 8) | u64::from(b)));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.mix(u64::from(byte));
    }
}

/// Paths as they were written, with the (base, node) pairs they resolved to.
type Resolved = HashMap<Arc<str>, Vec<(Option<usize>, usize)>, BuildHasherDefault<PathHasher>>;

/// [`PathCache::recent`] holds 2^RECENT_BITS entries.
const RECENT_BITS: u32 = 8;

/// The hash [`PathCache::recent`] is indexed by (the top bits) and checked
/// with.
#[inline]
fn path_hash(path: &str) -> u64 {
    let mut h = PathHasher::default();
    h.write(path.as_bytes());
    h.finish()
}

/// A resolution [`PathCache::recent`] keeps.
#[derive(Debug, Clone)]
struct RecentPath {
    hash: u64,
    base: Option<usize>,
    node: usize,
    path: Arc<str>,
}

/// Paths that resolved, with what they resolved to: all of them by path
/// (`all`), and in front of it the last one used in each slot of a table
/// indexed by the path's hash (`recent`), so a path used again is found
/// with one hash and one text comparison.
///
/// # Invariants
/// `recent.len() == 1 << RECENT_BITS`; an entry of `recent` sits at the
/// slot its `hash`'s top RECENT_BITS bits name, `hash == path_hash(path)`,
/// and `all` holds `path` with `(base, node)`; both are emptied together.
#[derive(Debug, Clone)]
struct PathCache {
    all: Resolved,
    recent: Box<[Option<RecentPath>]>,
}

impl Default for PathCache {
    fn default() -> Self {
        PathCache { all: Resolved::default(), recent: vec![None; 1 << RECENT_BITS].into_boxed_slice() }
    }
}

impl PathCache {
    /// The slot of `recent` a path with this hash uses.
    #[inline]
    fn slot(hash: u64) -> usize {
        (hash >> (64 - RECENT_BITS)) as usize
    }

    fn clear(&mut self) {
        self.all.clear();
        self.recent.fill(None);
    }
}

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
    #[allow(dead_code, reason = "recorded as the configuration manager does; nothing in the model reboots")]
    pub volatile: bool,
    /// Deleted: gone from its parent, but open handles still name it.
    pub deleted: bool,
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
///
/// # Invariants
/// `paths[i]` is the full path of `nodes[i]` (`\Registry\...`, names as
/// created); names never change, so the path is fixed when the node is made.
#[derive(Debug, Clone)]
pub struct Registry {
    nodes: Vec<KeyNode>,
    paths: Vec<std::sync::Arc<str>>,
    /// Paths that resolved, with what they resolved to. A resolved path
    /// keeps its node until a key is deleted (keys are never renamed or
    /// moved, and adding keys changes no existing path), so a delete
    /// forgets them all.
    resolved: RefCell<PathCache>,
    /// Accesses for the call record (idle unless it is on).
    pub(crate) journal: Journal,
}

fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// Names up to this many bytes are folded on the stack (value names and
/// path components are short).
const FOLD_BUFFER: usize = 64;

/// Eight bytes with their ASCII upper-case letters lowered: a byte below
/// 0x80 whose low seven bits are in `A..=Z` gains 0x20; every other byte
/// is kept (no carry crosses a byte: each sum stays below 0x100).
#[inline]
fn lower_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low = w & !HIGH;
    let from_a = low + ONES * (0x80 - u64::from(b'A'));
    let past_z = low + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = from_a & !past_z & !w & HIGH;
    w | (upper >> 2)
}

/// Runs `f` on `name` folded to lower case, without allocating unless the
/// name has upper-case letters and is longer than FOLD_BUFFER bytes.
fn with_folded<R>(name: &str, f: impl FnOnce(&str) -> R) -> R {
    let bytes = name.as_bytes();
    let mut buffer = [0u8; FOLD_BUFFER];
    let Some(out) = buffer.get_mut(..bytes.len()) else {
        if !bytes.iter().any(u8::is_ascii_uppercase) {
            return f(name);
        }
        return f(&fold(name));
    };
    // Eight bytes a step, then the rest one by one.
    let mut from = bytes.chunks_exact(8);
    let mut to = out.chunks_exact_mut(8);
    for (b, o) in (&mut from).zip(&mut to) {
        let mut word = [0u8; 8];
        word.copy_from_slice(b);
        o.copy_from_slice(&lower_word(u64::from_le_bytes(word)).to_le_bytes());
    }
    for (&b, o) in from.remainder().iter().zip(to.into_remainder()) {
        *o = b.to_ascii_lowercase();
    }
    // SAFETY: `out` is the UTF-8 of `name` with ASCII letters lowered:
    // ASCII case folding changes only bytes below 0x80 into bytes below
    // 0x80 and leaves every multi-byte sequence as it was, so it is still
    // UTF-8.
    let folded = unsafe { std::str::from_utf8_unchecked(out) };
    f(folded)
}

/// Whether every `\`-separated component of `path` is non-empty.
fn well_formed(path: &str) -> bool {
    let bytes = path.as_bytes();
    !bytes.is_empty() && bytes[0] != b'\\' && bytes[bytes.len() - 1] != b'\\' && !bytes.windows(2).any(|w| w == b"\\\\")
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
                deleted: false,
            }],
            paths: vec![r"\Registry".into()],
            resolved: RefCell::default(),
            journal: Journal::default(),
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

    /// The subkey of `node` named `name` (any case).
    fn child(&self, node: usize, name: &str) -> Option<usize> {
        with_folded(name, |folded| self.nodes[node].children.get(folded).copied())
    }

    /// Resolves `name` below `base` (`None` = absolute path starting with `\Registry`).
    pub fn lookup(&self, base: Option<usize>, name: &str) -> Result<usize, PathError> {
        let hash = path_hash(name);
        if let Some(r) = &self.resolved.borrow().recent[PathCache::slot(hash)]
            && r.hash == hash
            && r.base == base
            && *r.path == *name
        {
            return Ok(r.node);
        }
        self.resolve(base, name, hash)
    }

    /// [`Registry::lookup`] of a path not in front: found among all the
    /// resolved paths or walked (and remembered when it resolves), and put
    /// in front.
    #[cold]
    #[inline(never)]
    fn resolve(&self, base: Option<usize>, name: &str, hash: u64) -> Result<usize, PathError> {
        let known = self
            .resolved
            .borrow()
            .all
            .get_key_value(name)
            .and_then(|(path, r)| r.iter().find(|(b, _)| *b == base).map(|&(_, node)| (path.clone(), node)));
        let (path, node) = match known {
            Some(found) => found,
            None => {
                let node = self.walk(base, name)?;
                let mut cache = self.resolved.borrow_mut();
                if cache.all.len() >= RESOLVED_KEPT {
                    cache.clear();
                }
                let path = cache.all.get_key_value(name).map_or_else(|| Arc::from(name), |(p, _)| p.clone());
                cache.all.entry(path.clone()).or_default().push((base, node));
                (path, node)
            }
        };
        self.resolved.borrow_mut().recent[PathCache::slot(hash)] = Some(RecentPath { hash, base, node, path });
        Ok(node)
    }

    /// [`Registry::lookup`] without the cache: one component at a time.
    fn walk(&self, base: Option<usize>, name: &str) -> Result<usize, PathError> {
        let (mut node, rest) = match base {
            None => {
                let rest = name.strip_prefix('\\').ok_or(PathError::Invalid)?;
                if !well_formed(rest) {
                    return Err(PathError::Invalid);
                }
                let (first, rest) = rest.split_once('\\').unwrap_or((rest, ""));
                if !first.eq_ignore_ascii_case("registry") {
                    return Err(PathError::NotFound);
                }
                (0, rest)
            }
            Some(b) => {
                if name.is_empty() {
                    return Ok(b);
                }
                if !well_formed(name) {
                    return Err(PathError::Invalid);
                }
                (b, name)
            }
        };
        if rest.is_empty() {
            return Ok(node);
        }
        for part in rest.split('\\') {
            node = self.child(node, part).ok_or(PathError::NotFound)?;
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
        let path = format!(r"{}\{leaf}", self.paths[parent]);
        self.paths.push(path.into());
        self.nodes.push(KeyNode {
            name: leaf.to_string(),
            parent: Some(parent),
            children: BTreeMap::new(),
            values: BTreeMap::new(),
            volatile,
            deleted: false,
        });
        self.nodes[parent].children.insert(fold(leaf), id);
        id
    }

    /// Creates every missing key along an absolute path (test and machine setup).
    pub fn create_path(&mut self, path: &str) -> Result<usize, PathError> {
        let rest = path.strip_prefix(r"\Registry").ok_or(PathError::Invalid)?;
        if let Ok(node) = self.lookup(None, path) {
            return Ok(node);
        }
        let mut node = 0;
        if rest.is_empty() {
            return Ok(0);
        }
        let rest = rest.strip_prefix('\\').ok_or(PathError::Invalid)?;
        if !well_formed(rest) {
            return Err(PathError::Invalid);
        }
        for part in rest.split('\\') {
            node = match self.child(node, part) {
                Some(id) => id,
                None => self.add_child(node, part, false),
            };
        }
        Ok(node)
    }

    /// Full path of a node, `\Registry\...`.
    pub fn path_of(&self, id: usize) -> String {
        self.paths[id].to_string()
    }

    /// Full path of a node, shared (no copy).
    pub fn path_name(&self, id: usize) -> crate::model::Name {
        crate::model::Name::from(self.paths[id].clone())
    }

    /// Sets a value.
    pub fn set_value(&mut self, id: usize, name: &str, kind: u32, data: Vec<u8>) {
        self.journal.note(|| RegistryAccess::Write {
            path: self.path_of(id),
            name: name.to_string(),
            kind,
            data: data.clone(),
        });
        let values = &mut self.nodes[id].values;
        if let Some(value) = with_folded(name, |folded| values.get_mut(folded)) {
            if value.name != name {
                value.name = name.to_string();
            }
            value.kind = kind;
            value.data = data;
            return;
        }
        values.insert(fold(name), RegValue { name: name.to_string(), kind, data });
    }

    /// Removes a value; `false` if there was none.
    pub fn remove_value(&mut self, id: usize, name: &str) -> bool {
        let removed = with_folded(name, |folded| self.nodes[id].values.remove(folded)).is_some();
        self.journal.note(|| RegistryAccess::Remove { path: self.path_of(id), name: name.to_string(), removed });
        removed
    }

    /// Deletes a key without subkeys (`ZwDeleteKey`); `false` if it has some.
    /// The node stays as a tombstone for the handles still open to it.
    pub fn delete_key(&mut self, id: usize) -> bool {
        let deleted = self.nodes[id].children.is_empty();
        self.journal.note(|| RegistryAccess::DeleteKey { path: self.path_of(id), deleted });
        if !deleted {
            return false;
        }
        let folded = fold(&self.nodes[id].name);
        if let Some(parent) = self.nodes[id].parent {
            self.nodes[parent].children.remove(&folded);
        }
        self.resolved.get_mut().clear();
        self.nodes[id].deleted = true;
        true
    }

    /// Reads a value.
    pub fn value(&self, id: usize, name: &str) -> Option<&RegValue> {
        let value = with_folded(name, |folded| self.nodes[id].values.get(folded));
        self.journal.note(|| RegistryAccess::Read {
            path: self.path_of(id),
            name: name.to_string(),
            found: value.map(|v| (v.kind, v.data.clone())),
        });
        value
    }

    /// Subkeys of a node in enumeration order.
    pub fn subkeys(&self, id: usize) -> Vec<usize> {
        self.journal.note(|| RegistryAccess::EnumerateSubkeys { path: self.path_of(id) });
        self.nodes[id].children.values().copied().collect()
    }

    /// Values of a node in enumeration order.
    pub fn values(&self, id: usize) -> Vec<&RegValue> {
        self.journal.note(|| RegistryAccess::EnumerateValues { path: self.path_of(id) });
        self.nodes[id].values.values().collect()
    }

    /// The keys and values of the subtree at an absolute path, to put back
    /// with [`Registry::restore`]; `None` if there is no key at `path`.
    pub fn checkpoint(&self, path: &str) -> Option<Checkpoint> {
        let root = self.lookup(None, path).ok()?;
        let mut keys = Vec::new();
        let mut stack = vec![root];
        while let Some(id) = stack.pop() {
            keys.push((id, self.paths[id].clone(), self.nodes[id].values.clone()));
            stack.extend(self.nodes[id].children.values().rev());
        }
        Some(Checkpoint { root, keys })
    }

    /// Puts a checkpointed subtree's values back: every key it had holds
    /// exactly the values it had (a key deleted since is created again), and
    /// every key created below it since is kept, with no values — nodes are
    /// never freed, so a key that comes and goes every cycle would make the
    /// registry grow.
    pub fn restore(&mut self, checkpoint: &Checkpoint) {
        // The nodes that hold the checkpointed keys now (one differs only
        // where a key was deleted and is created again).
        let mut restored = Vec::with_capacity(checkpoint.keys.len());
        for (id, path, values) in &checkpoint.keys {
            let id = if self.nodes[*id].deleted {
                match self.create_path(path) {
                    Ok(id) => id,
                    Err(_) => continue,
                }
            } else {
                *id
            };
            if self.nodes[id].values != *values {
                self.nodes[id].values.clone_from(values);
            }
            restored.push(id);
        }
        // Keys that were not there at the checkpoint: below the checkpointed
        // ones (the checkpoint lists parents before children).
        let mut stack = vec![restored.first().copied().unwrap_or(checkpoint.root)];
        while let Some(id) = stack.pop() {
            if !self.nodes[id].values.is_empty() && !restored.contains(&id) {
                self.nodes[id].values.clear();
            }
            stack.extend(self.nodes[id].children.values());
        }
    }
}

/// A subtree's keys and values at one moment (`Machine::registry_checkpoint`).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The subtree's root node (its first key).
    root: usize,
    /// (node, its path, its values), the root first, parents before children.
    keys: Vec<(usize, std::sync::Arc<str>, BTreeMap<String, RegValue>)>,
}

/// A line of a registry description that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "registry description, line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SeedError {}

/// Parses a quoted string with `\"` and `\\` escapes; returns it and the rest.
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 2..])),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

fn utf16z(s: &str) -> Vec<u8> {
    s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes).collect()
}

/// Parses the data part of `name = data`: `(REG_* type, bytes)`.
fn parse_data(data: &str) -> Result<(u32, Vec<u8>), String> {
    let (kind, rest) = data.split_once(':').ok_or("expected TYPE:DATA, e.g. dword:4 or sz:\"text\"")?;
    let rest = rest.trim();
    let number = |radix_text: &str| -> Result<u64, String> {
        let t = radix_text.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => t.parse(),
        };
        parsed.map_err(|_| format!("{t:?} is not a number (decimal, or hex with 0x)"))
    };
    match kind.trim().to_ascii_lowercase().as_str() {
        "dword" => {
            let v = u32::try_from(number(rest)?).map_err(|_| format!("{rest} does not fit a dword"))?;
            Ok((4, v.to_le_bytes().to_vec()))
        }
        "qword" => Ok((11, number(rest)?.to_le_bytes().to_vec())),
        "sz" | "expand_sz" => {
            let (text, tail) = quoted(rest).ok_or("expected a quoted string")?;
            if !tail.trim().is_empty() {
                return Err(format!("unexpected {:?} after the string", tail.trim()));
            }
            Ok((if kind.trim().eq_ignore_ascii_case("sz") { 1 } else { 2 }, utf16z(&text)))
        }
        "multi_sz" => {
            let mut out = Vec::new();
            let mut tail = rest;
            while !tail.is_empty() {
                let (text, after) = quoted(tail).ok_or("expected quoted strings separated by commas")?;
                out.extend(utf16z(&text));
                tail = after.trim_start();
                tail = tail.strip_prefix(',').map(str::trim_start).unwrap_or(tail);
            }
            out.extend([0, 0]);
            Ok((7, out))
        }
        "hex" => {
            let bytes: Result<Vec<u8>, String> = rest
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(|b| u8::from_str_radix(b, 16).map_err(|_| format!("{b:?} is not a hex byte")))
                .collect();
            Ok((3, bytes?))
        }
        other => Err(format!("unknown type {other:?}; use dword, qword, sz, expand_sz, multi_sz or hex")),
    }
}

impl Registry {
    /// Seeds keys and values from a `.reg`-like description — what an INF's
    /// AddReg would have written before the driver loads:
    ///
    /// ```text
    /// ; comment
    /// [\Registry\Machine\SYSTEM\CurrentControlSet\Services\wdfkey_guard\Parameters]
    /// TraceLevel = dword:3
    /// MaxValueSize = dword:0x1000
    /// Name = sz:"text with \"quotes\""
    /// Search = multi_sz:"a", "b"
    /// Blob = hex:01,02,ff
    /// ```
    ///
    /// Keys are created as needed; a value line before any `[key]` line, an
    /// unknown type or a malformed line is an error naming its line.
    pub fn seed(&mut self, text: &str) -> Result<(), SeedError> {
        let mut current = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let err = |message: String| SeedError { line: i + 1, message };
            if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
                continue;
            }
            if let Some(path) = line.strip_prefix('[') {
                let path = path.strip_suffix(']').ok_or_else(|| err("a key line must end with ']'".into()))?;
                let node = self
                    .create_path(path.trim())
                    .map_err(|_| err(format!("{path:?} is not an absolute \\Registry\\... path")))?;
                current = Some(node);
                continue;
            }
            let node = current.ok_or_else(|| err("a value line needs a [\\Registry\\...] key line above it".into()))?;
            let (name, data) = line.split_once('=').ok_or_else(|| err("expected NAME = TYPE:DATA".into()))?;
            let name = name.trim();
            let name = match quoted(name) {
                Some((n, rest)) if rest.trim().is_empty() => n,
                _ => name.to_string(),
            };
            let (kind, bytes) = parse_data(data.trim()).map_err(err)?;
            self.set_value(node, &name, kind, bytes);
        }
        Ok(())
    }
}

impl State {
    /// Opens a registry key for `owner` and enters it in the handle table
    /// (ZwOpenKey/ZwCreateKey semantics; F8: kernel handles).
    pub fn open_key_handle(
        &mut self,
        owner: HandleOwner,
        base: Option<usize>,
        name: &str,
        access: u32,
        create: Option<bool>,
        protected: bool,
    ) -> Result<(u64, bool), NTSTATUS> {
        let result = match create {
            None => self.kernel.registry.lookup(base, name).map(|n| (n, false)),
            Some(volatile) => self.kernel.registry.create(base, name, volatile),
        };
        let (node, created) = result.map_err(|e| match e {
            PathError::NotFound => crate::abi::STATUS_OBJECT_NAME_NOT_FOUND,
            PathError::Invalid => crate::abi::STATUS_OBJECT_NAME_INVALID,
        })?;
        let serial = self.next_seq();
        let path = self.kernel.registry.path_name(node);
        self.kernel.registry.journal.note(|| RegistryAccess::Open { path: path.to_string(), created });
        let site = self.site();
        let access = map_generic_key_access(access);
        let entry = HandleEntry { object: node, access, protected, owner, serial };
        Ok((self.kernel.handles.insert(entry, path, serial, site), created))
    }
}

/// Maps generic rights to key rights as the configuration manager's generic
/// mapping does (ASSUMPTION: from the "Registry Key Security and Access Rights"
/// page, not yet in docs/facts.md: GENERIC_READ = KEY_READ, GENERIC_WRITE =
/// KEY_WRITE, GENERIC_EXECUTE = KEY_EXECUTE, GENERIC_ALL = KEY_ALL_ACCESS).
fn map_generic_key_access(access: u32) -> u32 {
    const GENERIC_EXECUTE: u32 = 0x2000_0000;
    if access & (crate::abi::GENERIC_READ | crate::abi::GENERIC_WRITE | GENERIC_EXECUTE | crate::abi::GENERIC_ALL) == 0
    {
        // No generic right to map (the usual KEY_* masks).
        return access;
    }
    let mut mapped =
        access & !(crate::abi::GENERIC_READ | crate::abi::GENERIC_WRITE | GENERIC_EXECUTE | crate::abi::GENERIC_ALL);
    for (generic, specific) in [
        (crate::abi::GENERIC_READ, crate::abi::KEY_READ),
        (crate::abi::GENERIC_WRITE, crate::abi::KEY_WRITE),
        (GENERIC_EXECUTE, crate::abi::KEY_EXECUTE),
        (crate::abi::GENERIC_ALL, crate::abi::KEY_ALL_ACCESS),
    ] {
        if access & generic != 0 {
            mapped |= specific;
        }
    }
    mapped
}

/// Access a handle needs for the query kind, or STATUS_ACCESS_DENIED.
fn require(access: u32, needed: u32) -> Result<(), NTSTATUS> {
    if access & needed == needed { Ok(()) } else { Err(crate::abi::STATUS_ACCESS_DENIED) }
}

/// The registry node behind a handle, checked for `needed` access (F96:
/// STATUS_INVALID_HANDLE for a handle that names no key, STATUS_ACCESS_DENIED
/// without the access; the handle table holds only keys, so no other type).
pub(crate) fn key_of(s: &crate::model::State, handle: HANDLE, needed: u32) -> Result<usize, NTSTATUS> {
    let entry = s.kernel.handles.get(handle as u64).ok_or(crate::abi::STATUS_INVALID_HANDLE)?;
    require(entry.access, needed)?;
    if s.kernel.registry.node(entry.object).deleted {
        return Err(crate::abi::STATUS_KEY_DELETED);
    }
    Ok(entry.object)
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
        r.set_value(a, "LEVEL", 4, vec![2, 0, 0, 0]);
        assert_eq!(r.values(a).len(), 1, "one value whatever the case");
        assert_eq!(r.value(a, "level").map(|v| (v.name.as_str(), v.data[0])), Some(("LEVEL", 2)));
        assert!(r.remove_value(a, "lEvEl"));
        assert_eq!(r.lookup(None, r"\Registry"), Ok(0));
        assert_eq!(r.lookup(None, r"\Registry\"), Err(PathError::Invalid));
        assert_eq!(r.lookup(None, "\\"), Err(PathError::Invalid));
        assert_eq!(r.lookup(None, r"\Other\Machine"), Err(PathError::NotFound));
    }

    #[test]
    fn a_restore_puts_back_exactly_the_checkpointed_values() {
        let mut r = Registry::new();
        let svc = r.create_path(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\S").unwrap();
        let params = r.create_path(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\S\Parameters").unwrap();
        r.set_value(params, "TraceLevel", 4, vec![3, 0, 0, 0]);
        let cp = r.checkpoint(r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\S").unwrap();
        r.set_value(params, "TraceLevel", 4, vec![5, 0, 0, 0]);
        r.set_value(params, "Extra", 4, vec![1, 0, 0, 0]);
        r.set_value(svc, "Start", 4, vec![3, 0, 0, 0]);
        let (state, _) = r.create(Some(svc), "State", false).unwrap();
        let (store, _) = r.create(Some(state), "Store", false).unwrap();
        r.set_value(store, "V0", 4, vec![9, 0, 0, 0]);
        let nodes = r.nodes.len();
        r.restore(&cp);
        assert_eq!(r.value(params, "TraceLevel").map(|v| v.data.clone()), Some(vec![3, 0, 0, 0]));
        assert!(r.value(params, "Extra").is_none() && r.value(svc, "Start").is_none());
        assert!(r.values(store).is_empty() && r.values(state).is_empty(), "keys made since are emptied");
        assert_eq!(r.lookup(Some(svc), r"State\Store"), Ok(store), "and kept");
        // A checkpointed key deleted since comes back with its values.
        assert!(r.delete_key(params));
        r.restore(&cp);
        let again = r.lookup(Some(svc), "Parameters").unwrap();
        assert_eq!(r.value(again, "tracelevel").map(|v| v.kind), Some(4));
        r.restore(&cp);
        assert_eq!(r.nodes.len(), nodes + 1, "one node for the re-created key, however often it is restored");
        assert!(r.checkpoint(r"\Registry\Nowhere").is_none());
    }

    #[test]
    fn a_remembered_path_is_forgotten_when_a_key_is_deleted() {
        let mut r = Registry::new();
        let path = r"\Registry\Machine\SOFTWARE\A\B";
        let b = r.create_path(path).unwrap();
        let a = r.lookup(None, r"\Registry\Machine\SOFTWARE\A").unwrap();
        assert_eq!(r.lookup(None, path), Ok(b));
        assert_eq!(r.lookup(Some(a), "B"), Ok(b));
        assert_eq!(r.lookup(Some(0), "B"), Err(PathError::NotFound), "the same name below another base");
        assert!(r.delete_key(b));
        assert_eq!(r.lookup(None, path), Err(PathError::NotFound));
        assert_eq!(r.lookup(Some(a), "B"), Err(PathError::NotFound));
        let (again, created) = r.create(Some(a), "B", false).unwrap();
        assert!(created && again != b);
        assert_eq!(r.lookup(None, path), Ok(again));
        assert_eq!(r.create_path(path), Ok(again));
        assert_eq!(r.create_path(r"\RegistryX\A"), Err(PathError::Invalid));
    }

    #[test]
    fn a_word_lowers_as_each_of_its_bytes_does() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                // The byte among neighbours that are letters, digits and
                // bytes above 0x7F.
                let mut bytes = *b"Az@[`{\xC4\x80";
                bytes[at] = byte;
                let mut expected = bytes;
                expected.make_ascii_lowercase();
                let got = lower_word(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(got, expected, "byte {byte:#x} at {at}");
            }
        }
    }

    #[test]
    fn many_paths_and_one_name_below_many_bases_resolve_from_the_cache() {
        let mut r = Registry::new();
        // More paths than the front table has slots: some share a slot.
        let count = (1usize << RECENT_BITS) + 50;
        let keys: Vec<(String, usize)> = (0..count)
            .map(|i| {
                let path = format!(r"\Registry\Machine\SOFTWARE\K{i}");
                let node = r.create_path(&path).unwrap();
                (path, node)
            })
            .collect();
        for round in 0..3 {
            for (i, (path, node)) in keys.iter().enumerate() {
                assert_eq!(r.lookup(None, path), Ok(*node), "round {round}");
                // The same relative name below two bases, alternately.
                let (base, other) = (keys[i].1, keys[(i + 1) % count].1);
                let (v, _) = r.create(Some(base), "V", false).unwrap();
                let (w, _) = r.create(Some(other), "V", false).unwrap();
                assert_eq!((r.lookup(Some(base), "V"), r.lookup(Some(other), "V")), (Ok(v), Ok(w)));
                assert_eq!(r.lookup(Some(0), "V"), Err(PathError::NotFound));
            }
        }
    }

    #[test]
    fn long_and_non_ascii_names_fold_too() {
        let mut r = Registry::new();
        let software = r.lookup(None, r"\Registry\Machine\SOFTWARE").unwrap();
        // Longer than the stack buffer, with upper case: the allocating fold.
        let long = "K".repeat(FOLD_BUFFER + 10);
        let (k, created) = r.create(Some(software), &long, false).unwrap();
        assert!(created);
        assert_eq!(r.lookup(Some(software), &long.to_ascii_lowercase()), Ok(k));
        let (u, _) = r.create(Some(software), "Größe", false).unwrap();
        assert_eq!(r.lookup(Some(software), "gröSSE"), Err(PathError::NotFound), "ASCII folding only");
        assert_eq!(r.lookup(Some(software), "GRößE"), Ok(u));
        assert_eq!(r.path_of(u), r"\Registry\Machine\SOFTWARE\Größe");
    }
}

#[cfg(test)]
mod seed_tests {
    use super::*;

    #[test]
    fn a_description_seeds_typed_values() {
        let mut r = Registry::new();
        r.seed(
            r#"
            ; INF AddReg
            [\Registry\Machine\SYSTEM\CurrentControlSet\Services\svc\Parameters]
            TraceLevel = dword:3
            "Max Size" = dword:0x1000
            Name = sz:"a \"b\""
            List = multi_sz:"x", "y"
            Blob = hex:01,ff
            Big = qword:4294967296
            "#,
        )
        .expect("valid description");
        let k = r.lookup(None, r"\Registry\Machine\SYSTEM\CurrentControlSet\Services\svc\Parameters").unwrap();
        assert_eq!(r.value(k, "tracelevel").map(|v| (v.kind, v.data.clone())), Some((4, vec![3, 0, 0, 0])));
        assert_eq!(r.value(k, "Max Size").map(|v| v.data.clone()), Some(vec![0, 0x10, 0, 0]));
        assert_eq!(r.value(k, "Name").map(|v| v.data.len()), Some(12), "a \"b\" + NUL, UTF-16");
        assert_eq!(r.value(k, "List").map(|v| (v.kind, v.data.len())), Some((7, 10)));
        assert_eq!(r.value(k, "Blob").map(|v| (v.kind, v.data.clone())), Some((3, vec![1, 0xff])));
        assert_eq!(r.value(k, "Big").map(|v| v.kind), Some(11));
    }

    #[test]
    fn errors_name_the_line_and_the_fix() {
        let mut r = Registry::new();
        let e = r.seed("X = dword:1").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("key line"), "{e}");
        let e = r.seed("[\\Registry\\Machine\\SOFTWARE\\A]\n\nY = word:1").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown type") && e.message.contains("dword"), "{e}");
        let e = r.seed("[\\Registry\\Machine\\SOFTWARE\\A]\nY = dword:0x1FFFFFFFF").unwrap_err();
        assert!(e.message.contains("does not fit"), "{e}");
        let e = r.seed("[SOFTWARE]").unwrap_err();
        assert!(e.message.contains("absolute"), "{e}");
    }
}
