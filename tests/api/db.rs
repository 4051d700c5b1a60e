//! The database layer with concurrent writers on one database, as two instances are.

use std::time::Duration;

use diesel::prelude::*;
use firmenportal::config::Config;
use firmenportal::db::DbPool;
use firmenportal::schema::rate_limits;

use crate::helpers::TestDatabase;

fn insert_row(conn: &mut firmenportal::db::DbConnection, key: &str) -> QueryResult<usize> {
    diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::key.eq(key),
            rate_limits::window_start.eq(chrono::Utc::now().naive_utc()),
            rate_limits::expires_at.eq(chrono::Utc::now().naive_utc()),
            rate_limits::hits.eq(1),
        ))
        .execute(conn)
}

#[tokio::test]
async fn a_transaction_that_reads_first_survives_a_concurrent_writer() {
    let database = TestDatabase::create();
    let url = database.url.clone();
    let config = Config::from_lookup(|name| (name == "DATABASE_URL").then(|| url.clone())).unwrap();
    let (first, second) = (DbPool::new(&config).unwrap(), DbPool::new(&config).unwrap());
    first.migrate().unwrap();

    // The first instance reads, then writes a moment later; the second writes meanwhile.
    let (has_read, read_done) = tokio::sync::oneshot::channel();
    let mut has_read = Some(has_read);
    let reading_writer = first.transaction(move |conn| {
        let _rows: i64 = rate_limits::table.count().get_result(conn)?;
        if let Some(has_read) = has_read.take() {
            let _ = has_read.send(());
        }
        std::thread::sleep(Duration::from_millis(300));
        insert_row(conn, "first")?;
        Ok(())
    });
    let other_writer = async {
        read_done.await.unwrap();
        second
            .transaction(|conn| Ok(insert_row(conn, "second")?))
            .await
    };
    let (first_outcome, second_outcome) = tokio::join!(reading_writer, other_writer);
    first_outcome.expect("the reading transaction commits");
    second_outcome.expect("the concurrent writer commits");

    let keys: Vec<String> = first
        .run(|conn| {
            Ok(rate_limits::table
                .select(rate_limits::key)
                .order(rate_limits::key)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(keys, ["first", "second"]);
}

/// Two transactions lock two rows in opposite orders; PostgreSQL aborts the one that
/// waited first with "deadlock detected" (SQLSTATE 40P01). `DbPool::transaction` runs it
/// again, and it commits: the caller never sees the deadlock.
#[tokio::test]
async fn a_transaction_aborted_by_a_deadlock_runs_again_and_commits() {
    let database = TestDatabase::create();
    if !database.is_postgres() {
        // SQLite has no row locks: its writers take turns, and cannot deadlock.
        return;
    }
    let url = database.url.clone();
    let config = Config::from_lookup(|name| (name == "DATABASE_URL").then(|| url.clone())).unwrap();
    let pool = DbPool::new(&config).unwrap();
    pool.migrate().unwrap();
    pool.transaction(|conn| {
        insert_row(conn, "a")?;
        insert_row(conn, "b")?;
        Ok(())
    })
    .await
    .unwrap();
    let touch = |conn: &mut firmenportal::db::DbConnection, key: &str| {
        diesel::update(rate_limits::table.find(key))
            .set(rate_limits::hits.eq(rate_limits::hits + 1))
            .execute(conn)
    };

    // The other side holds `b` and, once the first side waits for `b`, asks for `a`.
    let (b_locked, wait_for_b) = std::sync::mpsc::channel::<()>();
    let (first_waits, wait_for_first) = std::sync::mpsc::channel::<()>();
    let other_url = database.url.clone();
    let other = std::thread::spawn(move || {
        let mut conn = firmenportal::db::DbConnection::Postgres(
            diesel::PgConnection::establish(&other_url).unwrap(),
        );
        conn.transaction(|conn| {
            touch(conn, "b")?;
            b_locked.send(()).unwrap();
            wait_for_first.recv().unwrap();
            // Long enough for the first side to be waiting on `b` first.
            std::thread::sleep(Duration::from_millis(200));
            touch(conn, "a")?;
            Ok::<_, diesel::result::Error>(())
        })
    });
    wait_for_b.recv().unwrap();
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = attempts.clone();
    let mut first_waits = Some(first_waits);
    let outcome = pool
        .transaction(move |conn| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            touch(conn, "a")?;
            if let Some(signal) = first_waits.take() {
                signal.send(()).unwrap();
            }
            touch(conn, "b")?;
            Ok(())
        })
        .await;
    outcome.expect("the deadlock is retried, not answered");
    other
        .join()
        .unwrap()
        .expect("the other side commits after the retry's abort");
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2);
    let hits: Vec<i32> = pool
        .run(|conn| {
            Ok(rate_limits::table
                .order(rate_limits::key)
                .select(rate_limits::hits)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(hits, [3, 3], "both sides' updates stand, once each");
}
