//! `breakeven plan`: what to buy.

use super::common::{self, RunFlags, SetFlags};
use breakeven::analysis::plan::{plan, Evaluated, Objective, PlanConfig, PlanResult, Prepared};
use breakeven::money::format_usd_short;
use breakeven::report::output::Staged;
use breakeven::report::table::secs;
use breakeven::shard::{self, Command, Header, PartSet, PlanScreen, PlanSettings, Settings};
use breakeven::Catalogue;
use std::path::PathBuf;

pub const EXAMPLES: &str = "Examples:
  breakeven plan scenarios/bench-w1.toml --samples 500
  breakeven plan mine.toml --objective p90          # weigh the bad years
  breakeven plan mine.toml --latency-p95 30         # images must wait under 30 s (p95)
  breakeven plan mine.toml --set demand.monthly.median=200k

Writes plan.json into out/<scenario>/.";

/// Flags of `plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub set: SetFlags,
    /// Minimise the expected total cost, or its 90th percentile.
    #[arg(long, value_enum, default_value = "mean")]
    pub objective: Objective,
    /// Largest acceptable 95th-percentile end-to-end latency (wait + service) of self-hosted
    /// images, over the horizon and all paths [s]. Without a target a fleet that queues for
    /// weeks would look cheapest, so the default is an hour.
    #[arg(long, value_name = "SECONDS", default_value_t = breakeven::analysis::plan::DEFAULT_LATENCY_P95_S)]
    pub latency_p95: f64,
    /// Paths per candidate when screening (at most --samples).
    #[arg(long, default_value_t = breakeven::analysis::plan::DEFAULT_SCREEN_PATHS, value_parser = common::count_u64)]
    pub screen_paths: u64,
    /// Candidates re-run with all paths.
    #[arg(long, default_value_t = breakeven::analysis::plan::DEFAULT_FINALISTS, value_parser = common::count_usize)]
    pub finalists: usize,
    /// Compare speeds measured with different setups (optimised, eager, unstated) side by
    /// side; by default GPUs are compared like with like.
    #[arg(long)]
    pub mix_setups: bool,
    /// Leave out GeForce cards (RTX 4090, 5090): their driver licence forbids datacentre
    /// deployment.
    #[arg(long)]
    pub no_consumer_gpus: bool,
    /// Run only part K of N of a round (e.g. 2/8) and write it as a part file for `breakeven
    /// merge`: the screening round, or with --screened the final round.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// With --shard: run the final round on the finalists of the screening whose parts
    /// (plan-screen.part-K-of-N.jsonl) are in DIR.
    #[arg(long, value_name = "DIR", requires = "shard")]
    pub screened: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunFlags,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn line(e: &Evaluated) -> String {
    let latency = match e.latency_s {
        Some([p50, p95, p99]) => format!(
            ", latency p50 {} p95 {} p99 {}",
            secs(p50),
            secs(p95),
            secs(p99)
        ),
        None => String::new(),
    };
    let overflow = if e.overflow_share > 0.0 {
        format!(", {:.1}% overflowed", 100.0 * e.overflow_share)
    } else {
        String::new()
    };
    format!(
        "{}\n    {}\n    mean {} ± {}, p90 {}{latency}{overflow}{}",
        e.id,
        e.serves,
        format_usd_short(e.mean_usd),
        format_usd_short(e.std_error_usd),
        format_usd_short(e.p90_usd),
        match &e.infeasible {
            Some(why) => format!(" (fails the constraints: {why})"),
            None => String::new(),
        }
    )
}

/// The plan as text.
pub fn render(r: &PlanResult) -> String {
    let mut out = format!(
        "{}: {} candidates screened ({} cannot keep up), {} finalists on {} paths; objective {:?}{}\n\n",
        r.provenance.scenario,
        r.screened,
        r.screened_over_capacity,
        r.finalists.len(),
        r.samples,
        r.objective,
        r.latency_p95_s.map(|t| format!(", p95 latency at most {t} s")).unwrap_or_default()
    );
    out.push_str(&format!("recommended: {}\n", line(&r.recommended)));
    for p in &r.recommended.prices {
        out.push_str(&format!("      {p}\n"));
    }
    if let Some(c) = &r.recommended.consumer_gpu {
        out.push_str(&format!(
            "      warning: {c}; --no-consumer-gpus leaves such cards out\n"
        ));
    }
    if let Some(u) = &r.runner_up {
        out.push_str(&format!("runner-up:   {}\n", line(u)));
    }
    if let Some(b) = &r.best_api {
        out.push_str(&format!("best API:    {}\n", line(b)));
        for p in &b.prices {
            out.push_str(&format!("      {p}\n"));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    if !r.latency_unreachable.is_empty() {
        out.push_str(&format!(
            "\nno fleet of these meets the latency target at any size, their service time alone breaks it: {}\n",
            r.latency_unreachable.join("; ")
        ));
    }
    if let (Some(s), Some(b)) = (r.saving_vs_best_api_usd, &r.best_api) {
        if r.recommended.id == b.id {
            out.push_str("\nno self-hosted plan beats the best API option here.\n");
        } else {
            out.push_str(&format!(
                "\nthe recommendation saves {} over the horizon against {} ({:?} cost).\n",
                format_usd_short(s),
                b.id,
                r.objective
            ));
        }
    }
    out
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let (source, engine) = common::load(catalogue, &a.scenario, &a.set.set)?;
    let part = common::parse_shard(a.shard.as_deref())?;
    let run = a.run.config_for(&engine, part)?;
    let t = a.latency_p95;
    if !(t.is_finite() && t > 0.0) {
        return Err(super::InputError(format!(
            "--latency-p95: {t} is not a latency; expected seconds > 0"
        ))
        .into());
    }
    use breakeven::limits::{MAX_FINALISTS, MAX_SCREEN_PATHS};
    if a.screen_paths == 0 || a.screen_paths > MAX_SCREEN_PATHS {
        return Err(super::InputError(format!(
            "--screen-paths: {} is out of range; expected 1 to {MAX_SCREEN_PATHS} paths per candidate",
            a.screen_paths
        ))
        .into());
    }
    if a.finalists == 0 || a.finalists > MAX_FINALISTS {
        return Err(super::InputError(format!(
            "--finalists: {} is out of range; expected 1 to {MAX_FINALISTS} candidates",
            a.finalists
        ))
        .into());
    }
    let cfg = PlanConfig {
        objective: a.objective,
        latency_p95_s: Some(a.latency_p95),
        screen_paths: breakeven::analysis::plan::screening_paths(a.screen_paths, &run),
        finalists: a.finalists,
        search: breakeven::analysis::plan::Search {
            mix_setups: a.mix_setups,
            no_consumer_gpus: a.no_consumer_gpus,
        },
        run,
    };
    let dir = a.run.out_dir(&engine);
    if let Some(part) = part {
        return run_round(catalogue, &a, &source, &engine, &cfg, part, &dir);
    }
    let out = common::stage(&dir, "plan")?;
    let watch = common::watch(0);
    let r = plan(&engine.scenario, catalogue, &cfg, watch.controls())?;
    drop(watch);
    write(&r, out, a.json)
}

/// One shard of a round of a sharded plan: the screening, or (with `--screened DIR`) the
/// final round on the finalists of the screening parts in DIR.
fn run_round(
    catalogue: &Catalogue,
    a: &Args,
    source: &breakeven::scenario::Source,
    engine: &breakeven::engine::Engine,
    cfg: &PlanConfig,
    part: (u64, u64),
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let prepared = Prepared::new(&engine.scenario, catalogue, cfg)?;
    let mut settings = Settings::of(&cfg.run, engine, None);
    settings.plan = Some(PlanSettings::of(cfg));
    let watch = common::watch(0);
    let Some(screened) = &a.screened else {
        let e = prepared.screen_engine(catalogue)?;
        let mut rc = prepared.screen_config(cfg);
        rc.shard = Some(part);
        let header = Header::new(Command::PlanScreen, source, catalogue, settings, part);
        return common::write_part(dir, &header, &mut |w, shown| {
            shard::write_plan_round(w, shown, &header, &e, &rc, watch.controls())
        });
    };
    let mut header = Header::new(Command::Plan, source, catalogue, settings, part);
    let set = PartSet::find(screened, Command::PlanScreen)?.ok_or_else(|| {
        super::InputError(format!(
            "--screened: {} holds no screening parts (plan-screen.part-K-of-N.jsonl); expected the folder where `breakeven plan SCENARIO --shard K/N` wrote them",
            common::shown(screened)
        ))
    })?;
    shard::check_screening(&set, &header)?;
    let screen = shard::merge_plan_screen(set, catalogue, watch.controls())?;
    if let Some(p) = header.settings.plan.as_mut() {
        p.screening = Some(screen.screened());
    }
    let e = prepared.final_engine(&screen.screening.finalists, catalogue)?;
    let mut rc = prepared.final_config(&e, cfg);
    rc.shard = Some(part);
    common::write_part(dir, &header, &mut |w, shown| {
        shard::write_plan_round(w, shown, &header, &e, &rc, watch.controls())
    })
}

/// Write `plan.json` into `out`, commit it, and print the plan or the JSON.
pub fn write(r: &PlanResult, mut out: Staged, json: bool) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(r)? + "\n";
    let path = out.write("plan.json", text.as_bytes())?;
    out.commit()?;
    if json {
        print!("{text}");
    } else {
        super::style::print(&render(r));
        common::note(format!("wrote {}", common::shown(&path)));
    }
    Ok(())
}

/// Write `plan-screen.json` (a merged screening round) into `out`, commit it, and print the
/// finalists or the JSON.
pub fn write_screen(r: &PlanScreen, mut out: Staged, json: bool) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(r)? + "\n";
    let path = out.write("plan-screen.json", text.as_bytes())?;
    out.commit()?;
    if json {
        print!("{text}");
    } else {
        println!(
            "{}: {} candidates screened on {} paths each ({} cannot keep up); finalists:",
            r.provenance.scenario, r.screened, r.screening.screen_paths, r.screened_over_capacity
        );
        for e in r.screening.ranked.iter().take(r.screening.finalists.len()) {
            println!("  {}", line(e));
        }
        common::note(format!(
            "wrote {}; run the final round with `breakeven plan SCENARIO --shard K/N --screened DIR`",
            common::shown(&path)
        ));
    }
    Ok(())
}
