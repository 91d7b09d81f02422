//! The shipped catalogue loads, is complete, and prices the published examples exactly.

use breakeven::catalogue::Catalogue;
use breakeven::pricing::{quote, Request, Size};
use rust_decimal_macros::dec;

fn cat() -> Catalogue {
    match Catalogue::builtin() {
        Ok(c) => c,
        Err(e) => panic!("built-in catalogue does not load:\n{e}"),
    }
}

#[test]
fn builtin_catalogue_has_the_required_ids() {
    let c = cat();
    for id in [
        "bfl/flux-2-klein-4b",
        "bfl/flux-2-klein-9b",
        "bfl/flux-2-pro",
        "bfl/flux-2-flex",
        "bfl/flux-2-max",
        "bfl/flux-1.1-pro",
        "bfl/flux-1.1-pro-ultra",
        "bfl/flux-1.1-pro-raw",
        "bfl/flux-1-kontext-pro",
        "bfl/flux-1-kontext-max",
        "bfl/flux-1-fill-pro",
        "segmind/flux-schnell",
        "segmind/flux-dev",
        "segmind/flux-1.1-pro",
        "segmind/flux-pro",
        "segmind/flux-1.1-pro-ultra",
    ] {
        assert!(c.apis.contains_key(id), "missing api {id}");
    }
    for id in [
        "h100-sxm",
        "h100-pcie",
        "h200",
        "a100-80gb",
        "l40s",
        "l4",
        "rtx-4090",
        "rtx-5090",
    ] {
        assert!(c.gpus.contains_key(id), "missing gpu {id}");
    }
    for id in [
        "flux-2-klein-4b",
        "flux-2-klein-9b",
        "flux-1-schnell",
        "flux-1-dev",
        "flux-2-dev",
    ] {
        assert!(
            c.selfhost.contains_key(id),
            "missing self-host profile {id}"
        );
    }
    for id in [
        "apache-2.0",
        "bfl-flux-1-dev-self-serve",
        "bfl-flux-2-builder",
        "bfl-flux-2-platform",
        "bfl-flux-2-professional",
        "bfl-flux-2-enterprise",
    ] {
        assert!(c.licences.contains_key(id), "missing licence {id}");
    }
}

fn price(c: &Catalogue, model: &str, req: Request) -> rust_decimal::Decimal {
    quote(c, c.api(model).unwrap(), &req, None)
        .unwrap()
        .total_usd
}

#[test]
fn the_issue_examples_hold_exactly() {
    let c = cat();
    // A 2 MP klein 4B image: $0.014 first MP + $0.001 for the second.
    assert_eq!(
        price(
            &c,
            "bfl/flux-2-klein-4b",
            Request::image(Size::new(1024, 2048))
        ),
        dec!(0.015)
    );
    // Four FLUX.1 Kontext [pro] images at $0.04.
    let mut four = Request::image(Size::new(1024, 1024));
    four.count = 4;
    assert_eq!(price(&c, "bfl/flux-1-kontext-pro", four), dec!(0.16));
    // FLUX.2 [pro] with one 1 MP input: $0.03 + $0.015.
    let mut edit = Request::image(Size::new(1024, 1024));
    edit.inputs.push(Size::new(1024, 1024));
    assert_eq!(price(&c, "bfl/flux-2-pro", edit), dec!(0.045));
}

#[test]
fn every_shipped_offering_prices_a_1_mp_image() {
    let c = cat();
    for (id, api) in &c.apis {
        let q = quote(&c, api, &Request::image(Size::new(1024, 1024)), None)
            .unwrap_or_else(|e| panic!("{id} refuses a 1024x1024 image: {e}"));
        assert!(
            q.total_usd > dec!(0),
            "{id} prices a 1 MP image at {}",
            q.total_usd
        );
        assert!(
            q.total_usd < dec!(1),
            "{id} prices a 1 MP image at {}",
            q.total_usd
        );
        assert!(!q.source.is_empty(), "{id} has no source");
    }
}

#[test]
fn bad_price_files_are_refused_with_file_key_and_problem() {
    let file = |rel: &str, text: &str| breakeven::catalogue::CatalogueFile {
        rel_path: rel.into(),
        display: format!("fixtures/{rel}"),
        text: text.into(),
    };
    let bad = r#"
name = "bad"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp"
mp_usd = "-0.01"
image_usd = "0.04"
"#;
    let typo = "name = \"typo\"\nprovider = \"test\"\nmax_mpx = 4.0\n";
    let err = Catalogue::from_files(
        "fixtures",
        vec![file("api/t/bad.toml", bad), file("api/t/typo.toml", typo)],
    )
    .unwrap_err()
    .to_string();
    for line in [
        "fixtures/api/t/bad.toml: price[0].image_usd: does not belong to rule per_mp",
        "fixtures/api/t/bad.toml: price[0].mp_usd: -0.01 is negative; expected a price of 0 or more",
        "fixtures/api/t/typo.toml: ",
    ] {
        assert!(err.lines().any(|l| l.starts_with(line)), "no line starting {line:?} in:\n{err}");
    }
    assert!(err.contains("max_mpx"), "{err}");
}
