//! `breakeven report` writes one self-contained page: every chart inline, no scripts, nothing
//! fetched, and every price used with its source and date.

use assert_cmd::Command;

#[test]
fn report_is_one_self_contained_page() {
    let out = tempfile::tempdir().unwrap();
    Command::cargo_bin("breakeven")
        .unwrap()
        .args([
            "report",
            "scenarios/closed-form.toml",
            "--samples",
            "40",
            "--out",
        ])
        .arg(out.path())
        .assert()
        .success();
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("closed-form: keep the API, or self-host?"));
    // Charts inline: the run's two, the sweep's two and the tornado is absent (all fixed).
    assert!(
        html.matches("<svg").count() >= 4,
        "{} charts",
        html.matches("<svg").count()
    );
    assert!(html.contains("Monthly cost by monthly volume"));
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("url(http")
    );
    // Prices and speeds with source and date.
    assert!(html.contains("bfl/flux-2-klein-4b"));
    assert!(html.contains("2026-01-28"));
    assert!(html.contains("h100-sxm runpod-community"));
    // The closed-form break-even, in words.
    assert!(html.contains("140,264"), "break-even missing");
}
