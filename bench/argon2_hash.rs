//! Times argon2id password verifications with the service's own hasher and parameters,
//! on an otherwise idle machine. `bench/run.sh` divides the number of cores by the time
//! of one hash alone to get the physical login bound, and prints the time of hashes
//! computed on every core at once beside it (they share the memory bus and caches).
//!
//!   cargo bench --bench argon2_hash                  one hash at a time
//!   ARGON2_BENCH_THREADS=2 cargo bench --bench argon2_hash   two at once
//!
//! Prints `median_ms=… p90_ms=…` (per hash).

use std::time::Instant;

use firmenportal::auth::password::PasswordHasher;

const WARM_UP: usize = 3;
const SAMPLES: usize = 40;

fn main() {
    let threads: usize = std::env::var("ARGON2_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let hasher = PasswordHasher::new(threads, threads);
        let stored = hasher
            .hash("Benchmark-Passwort-2026".into())
            .await
            .expect("hash");
        let mut millis = Vec::with_capacity(SAMPLES * threads);
        for round in 0..WARM_UP + SAMPLES {
            let hashes = (0..threads).map(|_| {
                let (hasher, stored) = (hasher.clone(), stored.clone());
                async move {
                    let started = Instant::now();
                    let matches = hasher
                        .reserve()
                        .expect("an idle hasher has room")
                        .verify("Benchmark-Passwort-2026".into(), Some(stored))
                        .await
                        .expect("verify");
                    assert!(matches);
                    started.elapsed().as_secs_f64() * 1000.0
                }
            });
            let elapsed = futures_util::future::join_all(hashes).await;
            if round >= WARM_UP {
                millis.extend(elapsed);
            }
        }
        millis.sort_by(f64::total_cmp);
        let median = millis[millis.len() / 2];
        let p90 = millis[millis.len() * 9 / 10];
        println!("median_ms={median:.2} p90_ms={p90:.2}");
    });
}
