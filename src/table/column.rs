//! Column storage shared by both tables: dictionary-encoded strings, a plain
//! byte arena for unique values, and nullable numbers with a sentinel.
//!
//! Repeated strings (edges, user agents, hosts, targets) are stored once per
//! column; rows hold 4-byte ids. Id 0 is always null, so a freshly pushed
//! null costs one `u32` and no lookup.

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

/// Strings stored once, addressed by dense `u32` ids. Id 0 is null.
#[derive(Debug, Clone)]
pub struct Dict {
    table: HashTable<u32>,
    ends: Vec<usize>,
    text: String,
}

impl Default for Dict {
    fn default() -> Self {
        Dict {
            table: HashTable::new(),
            ends: vec![0],
            text: String::new(),
        }
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    FxBuildHasher.hash_one(bytes)
}

impl Dict {
    /// Number of ids handed out, null included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.len() == 1
    }

    /// The string behind `id`; `None` for the null id.
    pub fn get(&self, id: u32) -> Option<&str> {
        let id = id as usize;
        if id == 0 || id >= self.ends.len() {
            return None;
        }
        Some(&self.text[self.ends[id - 1]..self.ends[id]])
    }

    /// The stored bytes behind a non-null `id`.
    #[inline]
    fn bytes(&self, id: u32) -> &[u8] {
        let id = id as usize;
        &self.text.as_bytes()[self.ends[id - 1]..self.ends[id]]
    }

    /// The id of `value`, adding it when new. Bytes that are not UTF-8 are
    /// stored with replacement characters; the lookup key stays the raw bytes.
    pub fn intern(&mut self, value: &[u8]) -> u32 {
        let hash = hash_bytes(value);
        let (ends, text) = (&self.ends, &self.text);
        let slice = |id: u32| &text.as_bytes()[ends[id as usize - 1]..ends[id as usize]];
        if let Some(&id) = self.table.find(hash, |&id| slice(id) == value) {
            return id;
        }
        self.insert_new(hash, value)
    }

    #[cold]
    fn insert_new(&mut self, hash: u64, value: &[u8]) -> u32 {
        let id = self.ends.len() as u32;
        match std::str::from_utf8(value) {
            Ok(s) => self.text.push_str(s),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(value)),
        }
        self.ends.push(self.text.len());
        let (ends, text) = (&self.ends, &self.text);
        self.table.insert_unique(hash, id, |&id| {
            hash_bytes(&text.as_bytes()[ends[id as usize - 1]..ends[id as usize]])
        });
        id
    }

    /// Looks `value` up without adding it.
    pub fn find(&self, value: &str) -> Option<u32> {
        let hash = hash_bytes(value.as_bytes());
        self.table
            .find(hash, |&id| self.get(id) == Some(value))
            .copied()
    }

    /// Iterates `(id, string)` over every non-null entry.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> {
        (1..self.ends.len() as u32).map(move |id| (id, self.get(id).unwrap_or_default()))
    }

    /// Gives back the spare capacity left by growth.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }

    /// Bytes held by this dictionary (text, offsets and hash table).
    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 8 + self.table.capacity() * 5
    }
}

/// A dictionary-encoded string column.
#[derive(Debug, Clone, Default)]
pub struct StrColumn {
    pub ids: Vec<u32>,
    pub dict: Dict,
    /// The last non-null id pushed: runs of one value (method, protocol,
    /// result type) skip the hash lookup.
    last: u32,
}

impl StrColumn {
    pub fn push(&mut self, value: Option<&[u8]>) {
        let id = match value {
            Some(v) if self.last != 0 && self.dict.bytes(self.last) == v => self.last,
            Some(v) => {
                self.last = self.dict.intern(v);
                self.last
            }
            None => 0,
        };
        self.ids.push(id);
    }

    pub fn push_null(&mut self) {
        self.ids.push(0);
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        self.dict.get(self.ids[row])
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Moves `other`'s rows to the end of `self`, re-mapping its ids.
    pub fn append(&mut self, other: StrColumn) {
        if self.ids.is_empty() && self.dict.is_empty() {
            *self = other;
            return;
        }
        self.last = 0;
        let remap: Vec<u32> = std::iter::once(0)
            .chain(
                other
                    .dict
                    .iter()
                    .map(|(_, s)| self.dict.intern(s.as_bytes())),
            )
            .collect();
        self.ids
            .extend(other.ids.iter().map(|&id| remap[id as usize]));
    }

    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * 4 + self.dict.heap_bytes()
    }

    /// Gives back the spare capacity left by growth.
    pub fn shrink_to_fit(&mut self) {
        self.ids.shrink_to_fit();
        self.dict.shrink_to_fit();
    }
}

/// Unique strings (request ids, trace roots) in one arena, no dictionary.
/// Nulls are kept apart from empty strings by a bit per row; a column that
/// is empty or null on every row so far (an unused trace field) holds no
/// offsets at all.
#[derive(Debug, Clone, Default)]
pub struct ArenaColumn {
    /// End offset of each row's text. Empty while `text` is empty (every
    /// row ends at 0); `len` long from the first non-empty value on.
    ends: Vec<u64>,
    text: String,
    /// Bit `row` set when the row is null; only as long as the last null.
    null_bits: Vec<u64>,
    len: usize,
}

impl ArenaColumn {
    pub fn push(&mut self, value: Option<&[u8]>) {
        match value {
            Some(v) if !v.is_empty() => {
                if self.text.is_empty() {
                    self.ends.resize(self.len, 0);
                }
                match std::str::from_utf8(v) {
                    Ok(s) => self.text.push_str(s),
                    Err(_) => self.text.push_str(&String::from_utf8_lossy(v)),
                }
            }
            Some(_) => {}
            None => self.set_null(self.len),
        }
        if !self.text.is_empty() {
            self.ends.push(self.text.len() as u64);
        }
        self.len += 1;
    }

    fn set_null(&mut self, row: usize) {
        let word = row / 64;
        if self.null_bits.len() <= word {
            self.null_bits.resize(word + 1, 0);
        }
        self.null_bits[word] |= 1 << (row % 64);
    }

    fn is_null(&self, row: usize) -> bool {
        self.null_bits
            .get(row / 64)
            .is_some_and(|w| w >> (row % 64) & 1 == 1)
    }

    fn end(&self, row: usize) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.ends[row] as usize
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, row: usize) -> Option<&str> {
        assert!(
            row < self.len,
            "row {row} of an arena column of {}",
            self.len
        );
        let start = if row == 0 { 0 } else { self.end(row - 1) };
        let end = self.end(row);
        if start == end && self.is_null(row) {
            return None;
        }
        Some(&self.text[start..end])
    }

    pub fn append(&mut self, other: ArenaColumn) {
        if self.len == 0 {
            *self = other;
            return;
        }
        for (w, &bits) in other.null_bits.iter().enumerate() {
            let mut bits = bits;
            while bits != 0 {
                self.set_null(self.len + w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
        if !other.text.is_empty() {
            if self.text.is_empty() {
                self.ends.resize(self.len, 0);
            }
            let base = self.text.len() as u64;
            self.text.push_str(&other.text);
            self.ends.extend(other.ends.iter().map(|e| e + base));
        } else if !self.text.is_empty() {
            let end = self.text.len() as u64;
            self.ends.extend(std::iter::repeat_n(end, other.len));
        }
        self.len += other.len;
    }

    pub fn heap_bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * 8 + self.null_bits.capacity() * 8
    }

    /// Gives back the spare capacity left by growth.
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.null_bits.shrink_to_fit();
    }
}

/// A number type with a value reserved for null.
pub trait Nullable: Copy + PartialEq + std::fmt::Debug + Default {
    const NULL: Self;

    /// The value as a `u32` other than `u32::MAX`, for 64-bit types whose
    /// values mostly fit (byte counts); `None` keeps the column wide.
    fn narrow(self) -> Option<u32> {
        None
    }

    /// The inverse of [`Nullable::narrow`].
    fn widen(_narrow: u32) -> Self {
        Self::NULL
    }
}

impl Nullable for u16 {
    const NULL: Self = u16::MAX;
}
impl Nullable for u32 {
    const NULL: Self = u32::MAX;
}
impl Nullable for i32 {
    const NULL: Self = i32::MIN;
}
impl Nullable for u64 {
    const NULL: Self = u64::MAX;
    fn narrow(self) -> Option<u32> {
        u32::try_from(self).ok().filter(|&v| v != NARROW_NULL)
    }
    fn widen(narrow: u32) -> Self {
        narrow.into()
    }
}
impl Nullable for i64 {
    const NULL: Self = i64::MIN;
    fn narrow(self) -> Option<u32> {
        u32::try_from(self).ok().filter(|&v| v != NARROW_NULL)
    }
    fn widen(narrow: u32) -> Self {
        narrow.into()
    }
}

const NARROW_NULL: u32 = u32::MAX;

/// A nullable number column. Columns that are null on every row so far hold
/// no storage at all (many CloudFront and ALB fields are rarely set), and
/// 64-bit columns are stored in 4 bytes a row until a value needs more.
#[derive(Debug, Clone)]
pub struct NumColumn<T: Nullable> {
    /// Wide storage; when non-empty, `narrow` is empty.
    values: Vec<T>,
    /// Narrow storage, `NARROW_NULL` for null.
    narrow: Vec<u32>,
    len: usize,
}

impl<T: Nullable> Default for NumColumn<T> {
    fn default() -> Self {
        NumColumn {
            values: Vec::new(),
            narrow: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Nullable> NumColumn<T> {
    pub fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) if v != T::NULL => {
                if self.values.is_empty() {
                    if let Some(n) = v.narrow() {
                        self.narrow.resize(self.len, NARROW_NULL);
                        self.narrow.push(n);
                        self.len += 1;
                        return;
                    }
                    self.widen_all();
                }
                self.values.resize(self.len, T::NULL);
                self.values.push(v);
            }
            _ => {
                if !self.values.is_empty() {
                    self.values.push(T::NULL);
                } else if !self.narrow.is_empty() {
                    self.narrow.push(NARROW_NULL);
                }
            }
        }
        self.len += 1;
    }

    /// Moves narrow storage to wide storage, for a value that needs it.
    #[cold]
    fn widen_all(&mut self) {
        let narrow = std::mem::take(&mut self.narrow);
        self.values = narrow
            .into_iter()
            .map(|n| {
                if n == NARROW_NULL {
                    T::NULL
                } else {
                    T::widen(n)
                }
            })
            .collect();
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, row: usize) -> Option<T> {
        if self.values.is_empty() {
            return match self.narrow.get(row) {
                Some(&n) if n != NARROW_NULL => Some(T::widen(n)),
                _ => None,
            };
        }
        match self.values.get(row) {
            Some(&v) if v != T::NULL => Some(v),
            _ => None,
        }
    }

    /// True when no row holds a value.
    pub fn all_null(&self) -> bool {
        self.values.is_empty() && self.narrow.is_empty()
    }

    pub fn append(&mut self, mut other: NumColumn<T>) {
        if self.len == 0 {
            *self = other;
            return;
        }
        if other.all_null() {
            self.len += other.len;
            if !self.values.is_empty() {
                self.values.resize(self.len, T::NULL);
            } else if !self.narrow.is_empty() {
                self.narrow.resize(self.len, NARROW_NULL);
            }
            return;
        }
        if self.values.is_empty() && other.values.is_empty() {
            self.narrow.resize(self.len, NARROW_NULL);
            self.narrow.extend_from_slice(&other.narrow);
            self.narrow.resize(self.len + other.len, NARROW_NULL);
        } else {
            self.widen_all_if_narrow();
            other.widen_all_if_narrow();
            self.values.resize(self.len, T::NULL);
            self.values.extend_from_slice(&other.values);
            self.values.resize(self.len + other.len, T::NULL);
        }
        self.len += other.len;
    }

    fn widen_all_if_narrow(&mut self) {
        if self.values.is_empty() {
            self.widen_all();
        }
    }

    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<T>() + self.narrow.capacity() * 4
    }

    /// Gives back the spare capacity left by growth.
    pub fn shrink_to_fit(&mut self) {
        self.values.shrink_to_fit();
        self.narrow.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_stores_each_string_once_and_null_is_zero() {
        let mut col = StrColumn::default();
        col.push(Some(b"LAX1"));
        col.push(None);
        col.push(Some(b"LAX1"));
        col.push(Some(b"SEA19-C1"));
        assert_eq!(col.ids, vec![1, 0, 1, 2]);
        assert_eq!(col.get(3), Some("SEA19-C1"));
        assert_eq!(col.get(1), None);
        assert_eq!(col.dict.find("LAX1"), Some(1));
    }

    #[test]
    fn append_remaps_ids_of_the_other_dictionary() {
        let mut a = StrColumn::default();
        a.push(Some(b"x"));
        let mut b = StrColumn::default();
        b.push(Some(b"y"));
        b.push(Some(b"x"));
        b.push(None);
        a.append(b);
        let got: Vec<_> = (0..a.len()).map(|i| a.get(i)).collect();
        assert_eq!(got, vec![Some("x"), Some("y"), Some("x"), None]);
    }

    #[test]
    fn invalid_utf8_is_stored_with_replacement() {
        let mut col = StrColumn::default();
        col.push(Some(b"a\xffb"));
        assert_eq!(col.get(0), Some("a\u{fffd}b"));
    }

    #[test]
    fn arena_keeps_nulls_apart_from_empty_strings() {
        let mut a = ArenaColumn::default();
        a.push(Some(b"id1"));
        a.push(None);
        a.push(Some(b""));
        let mut b = ArenaColumn::default();
        b.push(None);
        b.push(Some(b"id2"));
        a.append(b);
        let got: Vec<_> = (0..a.len()).map(|i| a.get(i)).collect();
        assert_eq!(got, vec![Some("id1"), None, Some(""), None, Some("id2")]);
    }

    #[test]
    fn arena_of_nulls_and_empties_holds_no_offsets_until_text_arrives() {
        let mut a = ArenaColumn::default();
        a.push(None);
        a.push(Some(b""));
        assert!(a.ends.is_empty() && a.text.is_empty());
        let mut b = ArenaColumn::default();
        for _ in 0..70 {
            b.push(None);
        }
        b.push(Some(b"x"));
        let mut c = ArenaColumn::default();
        c.push(Some(b""));
        c.push(None);
        a.append(b);
        a.append(c);
        assert_eq!(a.len(), 75);
        assert_eq!((a.get(0), a.get(1), a.get(72)), (None, Some(""), Some("x")));
        assert_eq!((a.get(73), a.get(74), a.get(71)), (Some(""), None, None));
        let mut d = ArenaColumn::default();
        d.push(Some(b"y"));
        d.append(a);
        assert_eq!(
            (d.get(0), d.get(1), d.get(2), d.get(73)),
            (Some("y"), None, Some(""), Some("x"))
        );
    }

    #[test]
    fn wide_numbers_stay_narrow_until_a_value_needs_more() {
        let mut c: NumColumn<u64> = NumColumn::default();
        c.push(None);
        c.push(Some(5));
        assert!(c.values.is_empty());
        let mut d: NumColumn<u64> = NumColumn::default();
        d.push(Some(u64::from(u32::MAX)));
        d.push(None);
        let mut e: NumColumn<u64> = NumColumn::default();
        e.push(Some(7));
        e.push(None);
        c.append(e);
        assert!(c.values.is_empty());
        c.append(d);
        c.push(Some(1 << 40));
        let mut f: NumColumn<u64> = NumColumn::default();
        f.push(Some(9));
        c.append(f);
        let got: Vec<_> = (0..c.len()).map(|i| c.get(i)).collect();
        let max = Some(u64::from(u32::MAX));
        assert_eq!(
            got,
            vec![
                None,
                Some(5),
                Some(7),
                None,
                max,
                None,
                Some(1 << 40),
                Some(9)
            ]
        );
        let mut n: NumColumn<i64> = NumColumn::default();
        n.push(Some(3));
        n.push(Some(-1));
        assert_eq!((n.get(0), n.get(1)), (Some(3), Some(-1)));
    }

    #[test]
    fn num_column_is_lazy_until_a_value_arrives() {
        let mut c: NumColumn<u64> = NumColumn::default();
        c.push(None);
        c.push(None);
        assert!(c.all_null());
        c.push(Some(7));
        let mut d: NumColumn<u64> = NumColumn::default();
        d.push(None);
        d.push(Some(9));
        c.append(d);
        let got: Vec<_> = (0..c.len()).map(|i| c.get(i)).collect();
        assert_eq!(got, vec![None, None, Some(7), None, Some(9)]);
        let mut e: NumColumn<u64> = NumColumn::default();
        e.push(None);
        c.append(e);
        assert_eq!(c.len(), 6);
        assert_eq!(c.get(5), None);
    }
}
