//! Walking every page of a list endpoint as one stream of items.

use std::future::Future;

use futures_util::stream::{self, Stream, TryStreamExt};
use nmp_proto::Page;

use crate::error::Result;

/// Sort, filter and paging of list endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub page: Option<u64>,
    pub page_size: Option<u64>,
    /// A field name, `-` in front for descending (e.g. `-created_at`).
    pub sort: Option<String>,
    /// The server's filter expression (e.g. `name:"ws1"`).
    pub filter: Option<String>,
}

impl ListParams {
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        crate::client::query_pairs(&[
            ("page", self.page.map(|page| page.to_string())),
            ("page_size", self.page_size.map(|size| size.to_string())),
            ("sort", self.sort.clone()),
            ("filter", self.filter.clone()),
        ])
    }
}

/// Every item of every page, starting at `first_page`, fetching lazily.
pub fn all_pages<T, F, Fut>(first_page: u64, fetch: F) -> impl Stream<Item = Result<T>>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let pages = stream::try_unfold(Some(first_page.max(1)), move |next| {
        let fetched = next.map(&fetch);
        async move {
            let Some(fetched) = fetched else {
                return Ok::<_, crate::Error>(None);
            };
            let page = fetched.await?;
            let current = page.pagination.page;
            let more = !page.data.is_empty() && current < page.pagination.total_pages;
            let following = more.then_some(current + 1);
            Ok(Some((stream::iter(page.data.into_iter().map(Ok)), following)))
        }
    });
    pages.try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;
    use nmp_proto::PaginationData;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn walks_every_page_once_and_stops() {
        let calls = AtomicU64::new(0);
        let items: Vec<u64> = all_pages(1, |page| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let data = if page <= 3 { vec![page * 10, page * 10 + 1] } else { vec![] };
                Ok(Page { data, pagination: PaginationData::new(page, 2, 2, 6), sort: None, filter: None })
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(items, vec![10, 11, 20, 21, 30, 31]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
