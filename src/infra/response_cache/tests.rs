//! Unit tests of the response cache store.

use super::*;

fn response(bytes: usize) -> CachedResponse {
    CachedResponse {
        etag: http::HeaderValue::from_static("\"0\""),
        headers: vec![(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        )],
        body: vec![b'x'; bytes].into(),
    }
}

const HOUR: Duration = Duration::from_secs(3600);

fn cache(bytes: usize) -> ResponseCache {
    ResponseCache::new(bytes, HOUR, Duration::from_secs(10))
}

fn put(c: &ResponseCache, key: &str, keys: &[Key], bytes: usize) {
    c.store(key.into(), c.ticket(), HOUR, keys.to_vec(), response(bytes));
}

#[test]
fn keys_sort_query_parameters() {
    assert_eq!(ResponseCache::key("/a", ""), "/a");
    assert_eq!(ResponseCache::key("/a", "b=1&a=2"), "/a?a=2&b=1");
    assert_eq!(ResponseCache::key("/a", "t=2&a=1&t=1"), "/a?a=1&t=2&t=1");
}

#[test]
fn full_cache_evicts_least_recently_used() {
    let cache = cache(40_000);
    for i in 0..20 {
        put(&cache, &format!("/p{i}"), &[], 3_000);
        assert!(cache.lookup("/p0").is_some(), "the page in use stays ({i})");
    }
    assert!(cache.stats().size_bytes() <= 40_000);
    assert!(cache.lookup("/p1").is_none(), "an unused old page went");
    assert!(cache.lookup("/p19").is_some(), "the newest page is kept");
    assert!(cache.stats().evictions(Cause::Memory) > 0);
}

#[test]
fn junk_variants_of_one_path_cannot_crowd_out_others() {
    let cache = cache(100_000);
    put(&cache, "/real", &[], 3_000);
    for i in 0..50 {
        put(&cache, &format!("/junk?x={i}"), &[], 5_000);
    }
    assert!(cache.lookup("/real").is_some());
    assert!(cache.lookup("/junk?x=49").is_some());
    assert!(cache.stats().size_bytes() <= 100_000);
}

#[test]
fn per_path_eviction_frees_slack() {
    // Path cap 25,000; each entry about 300 bytes, so the
    // 1,562 bytes of slack take five stores.
    let cache = cache(100_000);
    let path_cap = 100_000 / PATH_SHARE;
    let scans = |c: &ResponseCache| c.entries.read().unwrap().scans;
    let mut i = 0;
    while scans(&cache) == 0 {
        put(&cache, &format!("/junk?x={i}"), &[], 100);
        i += 1;
    }
    let after_first = cache.stats().size_bytes();
    assert!(
        after_first <= path_cap - path_cap / 16,
        "one eviction frees down to 15/16 of the cap ({after_first})"
    );
    // Without the slack every store past the cap would rescan.
    put(&cache, &format!("/junk?x={i}"), &[], 100);
    assert_eq!(scans(&cache), 1, "a store into the slack does not rescan");
    for j in 0..100 {
        put(&cache, &format!("/junk?y={j}"), &[], 100);
    }
    assert!(
        scans(&cache) <= 1 + 100 / 4,
        "at most one scan per four stores: {}",
        scans(&cache)
    );
    assert!(cache.stats().size_bytes() <= path_cap);
}

#[test]
fn a_write_evicts_only_the_entries_sharing_a_key() {
    let cache = cache(100_000);
    put(&cache, "/a/1", &[Key::Article(1), Key::Tag(5)], 10);
    put(&cache, "/a/2", &[Key::Article(2), Key::Tag(5)], 10);
    put(
        &cache,
        "/list",
        &[Key::Articles, Key::Counts(1), Key::Counts(2)],
        10,
    );
    cache.invalidate(&[Key::Article(1)], Cause::LocalWrite);
    assert!(cache.lookup("/a/1").is_none());
    assert!(cache.lookup("/a/2").is_some() && cache.lookup("/list").is_some());
    cache.invalidate(&[Key::Tag(5)], Cause::OtherInstance);
    assert!(cache.lookup("/a/2").is_none());
    assert!(cache.lookup("/list").is_some());
    assert_eq!(cache.stats().evictions(Cause::LocalWrite), 1);
    assert_eq!(cache.stats().evictions(Cause::OtherInstance), 1);
    cache.invalidate(&[Key::All], Cause::LocalWrite);
    assert_eq!(cache.entry_count(), 0);
}

#[test]
fn a_fill_that_began_before_an_invalidation_is_refused() {
    let cache = cache(100_000);
    let ticket = cache.ticket();
    cache.invalidate(&[Key::Article(1)], Cause::LocalWrite);
    cache.store("/a/1".into(), ticket, HOUR, vec![Key::Article(1)], response(10));
    assert!(
        cache.lookup("/a/1").is_none(),
        "built from what the write replaced"
    );
    cache.store("/a/2".into(), ticket, HOUR, vec![Key::Article(2)], response(10));
    assert!(cache.lookup("/a/2").is_some(), "another key was not touched");
    let ticket = cache.ticket();
    cache.clear(Cause::Unsynced);
    cache.store("/a/3".into(), ticket, HOUR, vec![Key::Article(3)], response(10));
    assert!(
        cache.lookup("/a/3").is_none(),
        "a clear refuses every fill in flight"
    );
    put(&cache, "/a/1", &[Key::Article(1)], 10);
    assert!(cache.lookup("/a/1").is_some(), "a fill that began after is kept");
}

#[test]
fn counters_lag_until_applied() {
    let cache = ResponseCache::new(100_000, HOUR, Duration::from_millis(200));
    put(&cache, "/a/1", &[Key::Article(1), Key::Counts(1)], 10);
    put(&cache, "/shares/1", &[Key::Shares(1)], 10);
    cache.invalidate(&[Key::Shares(1), Key::Counts(1)], Cause::LocalWrite);
    assert!(cache.lookup("/shares/1").is_none(), "the counts route is exact");
    assert!(cache.lookup("/a/1").is_some(), "the body waits for the lag");
    cache.apply_lagged(Duration::from_millis(50), Cause::LocalWrite);
    assert!(cache.lookup("/a/1").is_some(), "not yet due");
    std::thread::sleep(Duration::from_millis(160));
    cache.apply_lagged(Duration::from_millis(50), Cause::LocalWrite);
    assert!(cache.lookup("/a/1").is_none(), "due within the lag");
    let exact = ResponseCache::new(100_000, HOUR, Duration::ZERO);
    put(&exact, "/a/1", &[Key::Counts(1)], 10);
    exact.invalidate(&[Key::Counts(1)], Cause::LocalWrite);
    assert!(exact.lookup("/a/1").is_none(), "no lag when the setting is 0");
}

#[test]
fn an_unconfirmed_follower_bypasses_the_cache() {
    let cache = cache(100_000);
    cache.follow();
    put(&cache, "/a", &[], 10);
    assert!(cache.lookup("/a").is_none(), "not before the first confirmation");
    cache.confirm_synced(cache.now_ms());
    put(&cache, "/a", &[], 10);
    assert!(cache.lookup("/a").is_some());
    cache.confirm_synced(cache.now_ms());
    std::thread::sleep(SYNC_BOUND + Duration::from_millis(20));
    assert!(cache.lookup("/a").is_none(), "served past the bound");
    assert_eq!(cache.stats().bypassed(), 2);
    cache.lose_sync();
    assert!(!cache.stats().in_sync());
    assert_eq!(cache.entry_count(), 0);
    cache.confirm_synced(cache.now_ms());
    put(&cache, "/a", &[], 10);
    assert!(cache.lookup("/a").is_some());
}
