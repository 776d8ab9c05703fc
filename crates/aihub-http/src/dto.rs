//! Shared DTOs: pagination and time formatting.

use aihub_core::PageRequest;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Page size when a list query names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;
/// Largest accepted page size.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Pagination of a list response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Pagination {
    /// 1-based page number.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
    /// Rows matching the filters, across pages.
    pub total: i64,
    /// Number of pages.
    pub total_pages: i64,
    /// Whether a next page exists.
    pub has_next: bool,
    /// Whether a previous page exists.
    pub has_prev: bool,
}

/// A list response: `{"items": [...], "pagination": {...}}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListResponse<T: ToSchema> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Where this page is.
    pub pagination: Pagination,
}

impl<T: ToSchema> ListResponse<T> {
    /// The response for one page of a core listing: `rows.items` converted by `f`, with the
    /// pagination of `page` (1-based) and `page_size` over `rows.total` matches.
    pub fn of<R>(
        rows: aihub_core::Page<R>,
        page: u32,
        page_size: u32,
        f: impl FnMut(R) -> T,
    ) -> Self {
        ListResponse {
            pagination: pagination(page, page_size, rows.total),
            items: rows.items.into_iter().map(f).collect(),
        }
    }
}

/// A list query's paging fields (`page`, `page_size`, `skip`, `limit`); [`paged!`] implements
/// it for a query struct that has them.
pub trait Paged {
    /// The paging part of the query.
    fn page_params(&self) -> PageParams;
}

/// Implements [`Paged`] for list query structs with `page`, `page_size`, `skip` and `limit`
/// fields (each `Option<u32>`).
#[macro_export]
macro_rules! paged {
    ($($query:ty),+ $(,)?) => {$(
        impl $crate::dto::Paged for $query {
            fn page_params(&self) -> $crate::dto::PageParams {
                $crate::dto::PageParams {
                    page: self.page,
                    page_size: self.page_size,
                    skip: self.skip,
                    limit: self.limit,
                }
            }
        }
    )+};
}

/// The page a list query asks for: `page`/`page_size` (default 1/20, max 100), or
/// `skip`/`limit`, which win when given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageParams {
    /// 1-based page.
    pub page: Option<u32>,
    /// Rows per page.
    pub page_size: Option<u32>,
    /// Rows to skip.
    pub skip: Option<u32>,
    /// Rows to return.
    pub limit: Option<u32>,
}

impl PageParams {
    /// Validates and resolves to an offset/limit plus the page numbers to report.
    ///
    /// # Errors
    /// 422 naming `page`, `page_size` or `limit` when out of range.
    pub fn resolve(self) -> Result<(PageRequest, u32, u32), ApiError> {
        let bad = |field: &str, msg: &str| ApiError(aihub_core::Error::validation(field, msg));
        if self.page == Some(0) {
            return Err(bad("page", "page must be at least 1"));
        }
        let size = match self.limit.or(self.page_size) {
            Some(0) => {
                return Err(bad(
                    if self.limit.is_some() {
                        "limit"
                    } else {
                        "page_size"
                    },
                    "must be at least 1",
                ));
            }
            Some(n) if n > MAX_PAGE_SIZE => {
                return Err(bad(
                    if self.limit.is_some() {
                        "limit"
                    } else {
                        "page_size"
                    },
                    "must be at most 100",
                ));
            }
            Some(n) => n,
            None => DEFAULT_PAGE_SIZE,
        };
        let offset = match self.skip {
            Some(skip) => skip,
            None => (self.page.unwrap_or(1) - 1).saturating_mul(size),
        };
        let page = offset / size + 1;
        Ok((
            PageRequest {
                offset: i64::from(offset),
                limit: i64::from(size),
            },
            page,
            size,
        ))
    }
}

/// Builds the pagination block.
pub fn pagination(page: u32, page_size: u32, total: i64) -> Pagination {
    let total_pages = if total == 0 {
        0
    } else {
        (total + i64::from(page_size) - 1) / i64::from(page_size)
    };
    Pagination {
        page,
        page_size,
        total,
        total_pages,
        has_next: i64::from(page) < total_pages,
        has_prev: page > 1,
    }
}

/// A stored UTC time for the wire (RFC 3339, `Z`).
pub fn ts(t: NaiveDateTime) -> DateTime<Utc> {
    aihub_domain::time::utc(t)
}

/// `Option<Option<T>>` for PATCH fields: absent leaves the value, `null` clears it.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_skip_limit() {
        let p = PageParams {
            page: Some(3),
            page_size: Some(10),
            skip: None,
            limit: None,
        };
        assert_eq!(
            p.resolve().unwrap().0,
            PageRequest {
                offset: 20,
                limit: 10
            }
        );
        let p = PageParams {
            page: None,
            page_size: None,
            skip: Some(5),
            limit: Some(5),
        };
        let (req, page, size) = p.resolve().unwrap();
        assert_eq!((req.offset, req.limit, page, size), (5, 5, 2, 5));
        assert!(
            PageParams {
                page: Some(0),
                page_size: None,
                skip: None,
                limit: None
            }
            .resolve()
            .is_err()
        );
        assert!(
            PageParams {
                page: None,
                page_size: Some(101),
                skip: None,
                limit: None
            }
            .resolve()
            .is_err()
        );
        let pg = pagination(2, 10, 25);
        assert_eq!((pg.total_pages, pg.has_next, pg.has_prev), (3, true, true));
        assert_eq!(pagination(1, 20, 0).total_pages, 0);
    }
}
