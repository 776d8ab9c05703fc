//! Paging of listings: the slice a caller asks for ([`PageRequest`]) and what comes back
//! ([`Page`]). Callers of core use these; the store's own paging types stay inside core.

/// Which slice of a listing to return: skip `offset` items, then return at most `limit`.
/// Both are item counts (not page numbers) and non-negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to skip.
    pub offset: i64,
    /// Most items to return.
    pub limit: i64,
}

/// One page of a listing: its items, in the listing's order, and how many items match the
/// listing's filters across all pages.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page (at most the request's `limit`).
    pub items: Vec<T>,
    /// Every matching item, across pages.
    pub total: i64,
}

impl<T> Page<T> {
    /// The same page with each item converted by `f`.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

impl From<PageRequest> for aihub_store::PageRequest {
    fn from(p: PageRequest) -> Self {
        aihub_store::PageRequest {
            offset: p.offset,
            limit: p.limit,
        }
    }
}

/// A page of store rows as a page of core views.
pub(crate) fn from_store<R, T: From<R>>(page: aihub_store::Page<R>) -> Page<T> {
    Page {
        items: page.items.into_iter().map(T::from).collect(),
        total: page.total,
    }
}
