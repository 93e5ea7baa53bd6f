//! The first-load budget: what every visitor downloads before the studio works.

use easel_e2e::bundle::{BROTLI_BUDGET, BundleReport};

#[test]
fn first_load_fits_the_brotli_budget() {
    let dist = easel_e2e::dist_dir();
    let report = BundleReport::measure(&dist)
        .unwrap_or_else(|e| panic!("cannot measure {}: {e}", dist.display()));
    println!("{report}");
    assert!(
        report.files.iter().any(|f| f.name.ends_with(".wasm")),
        "index.html in {} references no .wasm file: is it Trunk's output?",
        dist.display()
    );
    assert!(
        report.within_budget(),
        "first load is {} bytes brotli, over the {BROTLI_BUDGET}-byte budget",
        report.total().brotli
    );
}
