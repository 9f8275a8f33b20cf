//! The outcome of a comparison: the differences found and the rules that accepted others.

use super::rules::{RULES, Rule};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// One difference: where it is, and what each side says there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    pub at: String,
    pub spec: String,
    pub emitted: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n      spec:    {}\n      emitted: {}",
            self.at, self.spec, self.emitted
        )
    }
}

/// A value as the report shows it: compact JSON, cut short when long.
pub fn shown(value: Option<&Value>) -> String {
    const LIMIT: usize = 240;
    let Some(value) = value else {
        return "(absent)".to_string();
    };
    let text = value.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{} ...", &text[..cut]),
        None => text,
    }
}

#[derive(Debug, Default)]
pub struct Comparison {
    /// The differences no rule accepts.
    pub differences: Vec<Difference>,
    /// The differences a rule accepted, with the rule's name.
    pub accepted: Vec<(&'static str, Difference)>,
}

impl Comparison {
    pub fn differ(&mut self, at: impl Into<String>, spec: Option<&Value>, emitted: Option<&Value>) {
        self.differ_text(at, shown(spec), shown(emitted));
    }

    pub fn differ_text(
        &mut self,
        at: impl Into<String>,
        spec: impl Into<String>,
        emitted: impl Into<String>,
    ) {
        self.differences.push(Difference {
            at: at.into(),
            spec: spec.into(),
            emitted: emitted.into(),
        });
    }

    /// Records that `rule` accepted a difference.
    pub fn accept(
        &mut self,
        rule: &Rule,
        at: impl Into<String>,
        spec: Option<&Value>,
        emitted: Option<&Value>,
    ) {
        let difference = Difference {
            at: at.into(),
            spec: shown(spec),
            emitted: shown(emitted),
        };
        self.accepted.push((rule.name, difference));
    }

    /// How often each rule accepted a difference, by rule name.
    pub fn rules_applied(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for (rule, _) in &self.accepted {
            *counts.entry(*rule).or_default() += 1;
        }
        counts
    }

    /// Every accepted difference, under the rule that accepted it (for auditing the rules).
    pub fn accepted_report(&self) -> String {
        let mut out = String::new();
        for rule in RULES {
            let _ = writeln!(out, "{}: {}", rule.name, rule.why);
            for (_, difference) in self.accepted.iter().filter(|(name, _)| *name == rule.name) {
                let _ = writeln!(out, "  {difference}");
            }
        }
        out
    }

    /// The differences, one per entry, and the rules that were applied.
    pub fn report(&self) -> String {
        let mut out = format!(
            "openapi.yaml and the document dropshot emits differ in {} place(s):\n",
            self.differences.len()
        );
        for difference in &self.differences {
            let _ = writeln!(out, "  {difference}");
        }
        out.push_str(
            "\nDifferences accepted by normalisation rules (tests/contract/rules.rs; set \
             CONTRACT_SHOW_ACCEPTED=1 to list them):\n",
        );
        let applied = self.rules_applied();
        for rule in RULES {
            let times = applied.get(rule.name).copied().unwrap_or(0);
            let _ = writeln!(out, "  {:<36} {times:>5}x", rule.name);
        }
        out
    }
}
