//! Release builds lay out the code the server runs first: `assets/symbol-order.txt`
//! (written by `bench/symbol_order.sh`) names the functions a start and typical
//! requests run, and lld places them together at the front of `.text`. The kernel maps
//! 64 KiB around every page of code a process touches, so code spread over the whole
//! binary keeps most of it resident; laid out together it fills a few megabytes.
//!
//! Only where the linker is lld: rustc's own (the default for x86_64 Linux since Rust
//! 1.90) and no linker chosen in RUSTFLAGS. A name the file lists that the build no
//! longer has is skipped, so a stale file costs memory, never a failed link.

use std::{env, path::Path, process::Command};

const ORDER_FILE: &str = "assets/symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-changed=build.rs");
    if env::var("PROFILE").as_deref() != Ok("release") || !links_with_rust_lld() {
        return;
    }
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join(ORDER_FILE);
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

fn links_with_rust_lld() -> bool {
    let target = env::var("TARGET").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" || flags.contains("link") {
        return false;
    }
    // "rustc 1.95.0 (…)": lld is the default linker from 1.90 on.
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    let mut numbers = version.split_whitespace().nth(1).unwrap_or("").split('.');
    let major: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let minor: u32 = numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (major, minor) >= (1, 90)
}
