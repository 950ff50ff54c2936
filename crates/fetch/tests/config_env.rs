//! `FetchConfig::default()` is pure; `FetchConfig::from_env()` reads the environment.
//!
//! Its own test binary (one process, one test): it sets environment variables.

use mlytiles_fetch::{DEFAULT_ENDPOINT, FetchConfig};

#[test]
fn the_default_ignores_the_environment_and_from_env_applies_it() {
    // SAFETY: the only test of this binary, so no other thread reads the environment.
    unsafe {
        std::env::set_var("MLYTILES_ENDPOINT", "http://127.0.0.1:9/mirror");
        std::env::set_var("MAPILLARY_ACCESS_TOKEN", "MLY|1|envtoken");
    }
    let pure = FetchConfig::default();
    assert_eq!(pure.endpoint, DEFAULT_ENDPOINT);
    assert!(pure.token.is_none());

    let from_env = FetchConfig::from_env();
    assert_eq!(from_env.endpoint, "http://127.0.0.1:9/mirror");
    assert_eq!(
        from_env.token.as_ref().map(|t| t.expose()),
        Some("MLY|1|envtoken")
    );
    // Everything else is the default.
    assert_eq!(from_env.daily_budget, pure.daily_budget);
    assert_eq!(from_env.concurrency, pure.concurrency);

    // A blank endpoint and a malformed token are left out.
    unsafe {
        std::env::set_var("MLYTILES_ENDPOINT", "  ");
        std::env::set_var("MAPILLARY_ACCESS_TOKEN", "not a token");
    }
    let lenient = FetchConfig::from_env();
    assert_eq!(lenient.endpoint, DEFAULT_ENDPOINT);
    assert!(lenient.token.is_none());
}
