//! Times one argon2id password verification with the service's own hasher and
//! parameters, on an otherwise idle machine. `bench/run.sh` divides the number of hashing
//! threads by this time to get the login bound it compares the server against.
//!
//!   cargo bench --bench argon2_hash      (prints `median_ms=… p90_ms=…`)

use std::time::Instant;

use firmenportal::auth::password::PasswordHasher;

const WARM_UP: usize = 3;
const SAMPLES: usize = 40;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let hasher = PasswordHasher::new(1, 1);
        let stored = hasher
            .hash("Benchmark-Passwort-2026".into())
            .await
            .expect("hash");
        let mut millis = Vec::with_capacity(SAMPLES);
        for sample in 0..WARM_UP + SAMPLES {
            let started = Instant::now();
            let matches = hasher
                .reserve()
                .expect("an idle hasher has room")
                .verify("Benchmark-Passwort-2026".into(), Some(stored.clone()))
                .await
                .expect("verify");
            assert!(matches);
            if sample >= WARM_UP {
                millis.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        millis.sort_by(f64::total_cmp);
        let median = millis[SAMPLES / 2];
        let p90 = millis[SAMPLES * 9 / 10];
        println!("median_ms={median:.2} p90_ms={p90:.2}");
    });
}
