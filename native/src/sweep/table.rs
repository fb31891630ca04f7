//! The sweep's Markdown tables: one row per strategy, head count and setting, averaged over
//! seeds, with the setting each series would pick on the validation set marked; the second
//! table, when the sweep was given benchmarks, has their results.

use std::fmt::Write;

use super::groups::{BenchmarkSpread, Group, Spread};

/// The table for `groups`.
pub fn markdown(groups: &[Group]) -> String {
    let mut table = String::from(
        "| strategy | E | setting | seeds | budget | judge tokens | test F1 | validation F1 | validation F1 at its τ | test F1 at τ chosen on validation | test step AUC | aleatoric / epistemic | wall time |\n\
         |---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (index, group) in groups.iter().enumerate() {
        let spread = |spread: Option<Spread>| spread.map_or("–".to_string(), mean_and_std);
        let _ = writeln!(
            table,
            "{} {:.1}M | {:.3} ± {:.3} | {:.3} | {} | {} | {} | {:.0}% / {:.0}% | {:.0} s |",
            row_start(groups, index),
            group.judge_tokens / 1e6,
            group.test_f1.mean,
            group.test_f1.std,
            group.validation_f1.mean,
            group
                .validation_f1_at_threshold
                .map_or("–".to_string(), |s| format!("{:.3}", s.mean)),
            spread(group.test_f1_at_threshold),
            spread(group.test_auc),
            100.0 * group.aleatoric_share,
            100.0 * group.epistemic_share,
            group.wall_seconds,
        );
    }
    table.push_str(
        "\nBudget, F1, AUC and wall time are means over seeds (± sample standard deviation). Test \
         and validation F1 are at the selection's τ (0.5 by default, the paper's protocol). ✓ \
         marks the setting of each strategy and head count with the best validation F1, at the \
         τ each run chose there when every run chose one (ties go to the smaller budget); \
         nothing on the test set is used to choose.\n",
    );
    table
}

/// The benchmark table for `groups`, or `None` when no group was scored on benchmarks. Its
/// columns are those of the first group with benchmarks; groups scored on others are left out.
pub fn benchmarks_markdown(groups: &[Group]) -> Option<String> {
    let columns = groups.iter().find_map(|g| g.benchmarks.as_ref())?;
    let split_names: Vec<&str> = columns
        .splits
        .iter()
        .map(|split| split.name.as_str())
        .collect();
    let same_columns = |b: &BenchmarkSpread| {
        b.splits
            .iter()
            .map(|split| split.name.as_str())
            .eq(split_names.iter().copied())
            && b.prmbench_score.is_some() == columns.prmbench_score.is_some()
    };
    let mut header = String::from("| strategy | E | setting | seeds | budget |");
    let mut rule = String::from("|---|---:|---|---:|---:|");
    for name in &split_names {
        let _ = write!(header, " ProcessBench {name} |");
        rule.push_str("---:|");
    }
    if columns.processbench_average.is_some() {
        header.push_str(" ProcessBench average |");
        rule.push_str("---:|");
    }
    if columns.prmbench_score.is_some() {
        header.push_str(" PRMBench PRMScore | PRMBench negF1 |");
        rule.push_str("---:|---:|");
    }
    let mut table = format!("{header}\n{rule}\n");
    let chance: Vec<f64> = columns.splits.iter().map(|s| s.chance_f1).collect();
    let random_rate: Option<Vec<f64>> = columns.splits.iter().map(|s| s.random_rate_f1).collect();
    let baselines = [
        Some(("chance (a uniformly random step)", chance)),
        random_rate.map(|f1| ("a random flagger at the split's best rate", f1)),
    ];
    for (name, f1) in baselines
        .into_iter()
        .flatten()
        .filter(|(_, f1)| !f1.is_empty())
    {
        let _ = write!(table, "| {name} | | | | |");
        for value in &f1 {
            let _ = write!(table, " {value:.3} |");
        }
        let average = f1.iter().sum::<f64>() / f1.len() as f64;
        let _ = write!(table, " {average:.3} |");
        if columns.prmbench_score.is_some() {
            table.push_str(" | |");
        }
        table.push('\n');
    }
    for (index, group) in groups.iter().enumerate() {
        let Some(benchmarks) = group.benchmarks.as_ref().filter(|b| same_columns(b)) else {
            continue;
        };
        table.push_str(&row_start(groups, index));
        for split in &benchmarks.splits {
            let _ = write!(table, " {} |", mean_and_std(split.f1));
        }
        for value in [
            benchmarks.processbench_average,
            benchmarks.prmbench_score,
            benchmarks.prmbench_negative_f1,
        ]
        .into_iter()
        .flatten()
        {
            let _ = write!(table, " {} |", mean_and_std(value));
        }
        table.push('\n');
    }
    table.push_str(
        "\nProcessBench: first-error F1 at the τ each run chose on its validation set (at 0.5 \
         where a run chose none), means over seeds (± sample standard deviation); chance is the \
         best of the trivial baselines (flagging nothing or always the last step scores 0); the \
         random flagger marks each step wrong at the rate with the highest expected F1 on that \
         split, chosen on the split itself. \
         PRMBench: at τ 0.5, its protocol. ✓ as in the table above.\n",
    );
    Some(table)
}

/// The cells every table's row of `groups[index]` starts with: strategy, head count, setting
/// (marked when chosen on validation), seeds and budget.
fn row_start(groups: &[Group], index: usize) -> String {
    let group = &groups[index];
    let chosen = if is_chosen(groups, index) { " ✓" } else { "" };
    format!(
        "| {} | {} | {}{chosen} | {} | {:.1}% ± {:.1} |",
        group.strategy.name(),
        group.heads,
        group.setting,
        group.seeds.len(),
        100.0 * group.budget.mean,
        100.0 * group.budget.std,
    )
}

/// A mean over seeds with its sample standard deviation.
fn mean_and_std(spread: Spread) -> String {
    format!("{:.3} ± {:.3}", spread.mean, spread.std)
}

/// Whether `groups[index]` has the best validation F1 of its strategy and head count.
fn is_chosen(groups: &[Group], index: usize) -> bool {
    let candidate = &groups[index];
    let rivals = groups
        .iter()
        .filter(|g| g.strategy == candidate.strategy && g.heads == candidate.heads);
    let best = rivals
        .min_by(|a, b| {
            b.choice_f1()
                .total_cmp(&a.choice_f1())
                .then(a.budget.mean.total_cmp(&b.budget.mean))
        })
        .expect("the candidate is its own rival");
    std::ptr::eq(best, candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::StrategyArg;
    use crate::sweep::groups::group;
    use crate::sweep::results::tests::result;

    #[test]
    fn one_row_per_setting_and_the_validation_choice_is_marked() {
        let mut strict = result(StrategyArg::Actprm, 0, 0.7, 0.9);
        strict.spec.delta_pred = Some(0.99);
        strict.validation.first_error.f1 = 0.95;
        let mut at_threshold = strict.test;
        at_threshold.first_error.f1 = 0.6;
        strict.test_at_threshold = Some(at_threshold);
        let loose = result(StrategyArg::Actprm, 0, 0.3, 0.5);
        let table = markdown(&group(&[
            loose,
            strict,
            result(StrategyArg::Full, 0, 1.0, 0.9),
        ]));
        let rows: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| actprm"))
            .collect();
        assert_eq!(rows.len(), 2);
        assert!(
            rows[0].contains("δ_pred 0.95 · δ_std 0.005 |"),
            "{}",
            rows[0]
        );
        assert!(
            rows[1].contains("δ_pred 0.99 · δ_std 0.005 ✓"),
            "{}",
            rows[1]
        );
        assert!(rows[1].contains("| 70.0% ± 0.0 | 0.1M | 0.900 ± 0.000 | 0.950 |"));
        assert!(
            rows[1].contains("| 0.950 | – | 0.600 ± 0.000 | 0.800 ± 0.000 |"),
            "{}",
            rows[1]
        );
        assert!(
            rows[0].contains("| 0.500 | – | – | 0.800 ± 0.000 |"),
            "no τ was chosen: {}",
            rows[0]
        );
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("| full | 4 | every trajectory ✓"))
        );
    }

    /// With a τ chosen on validation in every run, the setting is chosen by the validation F1
    /// at that τ, not at 0.5.
    #[test]
    fn the_choice_uses_the_validation_f1_at_the_chosen_tau() {
        use actprm_core::eval::threshold::ChosenThreshold;

        let chosen = |f1: f64| {
            Some(ChosenThreshold {
                tau: 0.9,
                validation_f1: f1,
                validation_items: 100,
            })
        };
        let mut strict = result(StrategyArg::Actprm, 0, 0.7, 0.9);
        strict.spec.delta_pred = Some(0.99);
        strict.validation.first_error.f1 = 0.95;
        strict.threshold = chosen(0.2);
        let mut loose = result(StrategyArg::Actprm, 0, 0.3, 0.5);
        loose.threshold = chosen(0.4);
        let table = markdown(&group(&[loose, strict]));
        let chosen_row = table
            .lines()
            .find(|l| l.contains(" ✓"))
            .expect("a setting is chosen");
        assert!(chosen_row.contains("δ_pred 0.95"), "{chosen_row}");
        assert!(chosen_row.contains("| 0.500 | 0.400 |"), "{chosen_row}");
    }

    #[test]
    fn the_benchmark_table_has_chance_and_one_row_per_benchmarked_setting() {
        use crate::sweep::benchmarks::{BenchmarkResults, SplitResult};

        assert_eq!(
            benchmarks_markdown(&group(&[result(StrategyArg::Full, 0, 1.0, 0.9)])),
            None,
            "nothing was benchmarked"
        );
        let mut full = result(StrategyArg::Full, 0, 1.0, 0.9);
        full.benchmarks = BenchmarkResults {
            processbench: vec![SplitResult {
                split: "gsm8k".to_string(),
                items: 400,
                at_threshold: None,
                at_half: full.test,
                chance_f1: 0.172,
                random_rate_f1: Some(0.198),
            }],
            prmbench: None,
        };
        let table = benchmarks_markdown(&group(&[full, result(StrategyArg::Actprm, 0, 0.3, 0.5)]))
            .expect("one group was benchmarked");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| strategy | E | setting | seeds | budget | ProcessBench gsm8k | ProcessBench average |"
        );
        assert_eq!(
            lines[2],
            "| chance (a uniformly random step) | | | | | 0.172 | 0.172 |"
        );
        assert_eq!(
            lines[3],
            "| a random flagger at the split's best rate | | | | | 0.198 | 0.198 |"
        );
        assert_eq!(
            lines[4],
            "| full | 4 | every trajectory ✓ | 1 | 100.0% ± 0.0 | 0.900 ± 0.000 | 0.900 ± 0.000 |"
        );
        assert!(
            !table.contains("| actprm"),
            "a group without benchmarks has no row: {table}"
        );
    }
}
