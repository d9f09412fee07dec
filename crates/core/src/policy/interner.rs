//! `Interner`: each distinct string stored once and named by a dense `u32`, so the binding index
//! holds numbers rather than one copy of every identity, workspace and role per binding. Freed
//! numbers are reused, so churn (workspaces created and deleted) does not grow it.

use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use hashbrown::HashTable;

#[derive(Clone, Default)]
pub(crate) struct Interner {
    /// The string of each id; a freed slot holds an empty string and is in `free`.
    names: Vec<Box<str>>,
    /// Ids, found by the hash of their string. foldhash with a per-process random seed: several
    /// times faster than SipHash on names this short, and the seed keeps callers, who choose the
    /// strings, from crafting collisions offline.
    table: HashTable<u32>,
    free: Vec<u32>,
    hasher: RandomState,
}

impl Interner {
    /// The id of `name`, if interned. Allocation-free.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        let names = &self.names;
        self.table.find(self.hasher.hash_one(name), |&id| &*names[id as usize] == name).copied()
    }

    /// The id of `name`, interning it when new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.get(name) {
            return id;
        }
        let id = match self.free.pop() {
            Some(id) => {
                self.names[id as usize] = name.into();
                id
            }
            None => {
                let id = u32::try_from(self.names.len()).expect("fewer than 2^32 distinct names");
                self.names.push(name.into());
                id
            }
        };
        let Interner { names, table, hasher, .. } = self;
        table.insert_unique(hasher.hash_one(name), id, |&other| hasher.hash_one(&*names[other as usize]));
        id
    }

    /// Forget `id`; it may be handed out again for another string.
    pub(crate) fn release(&mut self, id: u32) {
        let name = std::mem::take(&mut self.names[id as usize]);
        let hash = self.hasher.hash_one(&*name);
        if let Ok(entry) = self.table.find_entry(hash, |&other| other == id) {
            entry.remove();
        }
        self.free.push(id);
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// One past the largest id handed out.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.names.shrink_to_fit();
        let Interner { names, table, hasher, .. } = self;
        table.shrink_to_fit(|&id| hasher.hash_one(&*names[id as usize]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_reuses_freed_ids() {
        let mut interner = Interner::default();
        let a = interner.intern("alice");
        assert_eq!(interner.intern("alice"), a);
        let b = interner.intern("bob");
        assert_ne!(a, b);
        assert_eq!(interner.get("bob"), Some(b));
        interner.release(a);
        assert_eq!(interner.get("alice"), None);
        let c = interner.intern("carol");
        assert_eq!(c, a, "the freed id is reused");
        assert_eq!(interner.name(c), "carol");
        assert_eq!(interner.get("bob"), Some(b));
        assert_eq!(interner.capacity(), 2);
    }
}
