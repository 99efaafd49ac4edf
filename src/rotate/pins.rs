//! Pinned references of the actions keysweep inserts (full commit SHA, version comment).
//! Data only: a target that inserts a new action adds its line here.

pub const PINS: &[(&str, &str, &str)] = &[
    (
        "aws-actions/configure-aws-credentials",
        "e3dd6a429d7300a6a4c196c26e071d42e0343502",
        "v4.0.2",
    ),
    (
        "rust-lang/crates-io-auth-action",
        "e919bc7605cde86df457cf5b93c5e103838bd879",
        "v1.0.1",
    ),
    (
        "google-github-actions/auth",
        "6fc4af4b145ae7821d527454aa9bd537d1f2dc5f",
        "v2.1.7",
    ),
    (
        "octo-sts/action",
        "a26b0c6455c7f13316f29a8766287f939e75f6c8",
        "v1.0.2",
    ),
];
