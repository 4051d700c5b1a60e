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
