//! Command-line values shared by several subcommands, as clap `ValueEnum`s that convert to the
//! library's types (the libraries know nothing of clap).

use clap::ValueEnum;
use vigil_store::count::Margins;
use vigil_store::read::{DateField, Role};
use vigil_terms::atc::DrugLevel;
use vigil_terms::meddra::EventLevel;

/// `--role`: which drug roles count as exposure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Primary suspect only.
    Ps,
    /// Primary or secondary suspect (PS + SS).
    Suspect,
    /// Suspect or interacting (PS, SS, I).
    #[value(name = "ps,ss,i", alias = "suspect,i")]
    SuspectOrInteracting,
    /// Every role.
    All,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Ps => Role::Ps,
            RoleArg::Suspect => Role::Suspect,
            RoleArg::SuspectOrInteracting => Role::SuspectOrInteracting,
            RoleArg::All => Role::All,
        }
    }
}

impl From<Role> for RoleArg {
    fn from(r: Role) -> Self {
        match r {
            Role::Ps => RoleArg::Ps,
            Role::Suspect => RoleArg::Suspect,
            Role::SuspectOrInteracting => RoleArg::SuspectOrInteracting,
            Role::All => RoleArg::All,
        }
    }
}

/// `--date-field`: the date `--since` and `--until` apply to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DateFieldArg {
    /// FDA receipt date (fda_dt).
    Fda,
    /// Event date (event_dt).
    Event,
}

impl From<DateFieldArg> for DateField {
    fn from(d: DateFieldArg) -> Self {
        match d {
            DateFieldArg::Fda => DateField::FdaReceipt,
            DateFieldArg::Event => DateField::Event,
        }
    }
}

impl From<DateField> for DateFieldArg {
    fn from(d: DateField) -> Self {
        match d {
            DateField::FdaReceipt => DateFieldArg::Fda,
            DateField::Event => DateFieldArg::Event,
        }
    }
}

/// `--margins`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MarginsArg {
    /// Unique-report margins.
    Reports,
    /// Sums of pair counts.
    Pairs,
}

impl From<MarginsArg> for Margins {
    fn from(m: MarginsArg) -> Self {
        match m {
            MarginsArg::Reports => Margins::Reports,
            MarginsArg::Pairs => Margins::Pairs,
        }
    }
}

impl From<Margins> for MarginsArg {
    fn from(m: Margins) -> Self {
        match m {
            Margins::Reports => MarginsArg::Reports,
            Margins::Pairs => MarginsArg::Pairs,
        }
    }
}

/// `--event-level`: the MedDRA level reactions are counted at (docs/terminologies.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EventLevelArg {
    /// Preferred term (reported terms mapped to the release's PTs).
    Pt,
    /// High level term.
    Hlt,
    /// High level group term.
    Hlgt,
    /// System organ class.
    Soc,
    /// Standardised MedDRA query.
    Smq,
}

impl From<EventLevelArg> for EventLevel {
    fn from(l: EventLevelArg) -> Self {
        match l {
            EventLevelArg::Pt => EventLevel::Pt,
            EventLevelArg::Hlt => EventLevel::Hlt,
            EventLevelArg::Hlgt => EventLevel::Hlgt,
            EventLevelArg::Soc => EventLevel::Soc,
            EventLevelArg::Smq => EventLevel::Smq,
        }
    }
}

/// `--smq-scope`: which SMQ terms count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SmqScopeArg {
    /// Narrow-scope terms only.
    Narrow,
    /// Narrow- and broad-scope terms.
    Broad,
}

/// `--drug-level`: the substance as stored, or an ATC level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrugLevelArg {
    /// The substance as stored.
    Substance,
    /// ATC level 5, chemical substance (D11AH05).
    Atc5,
    /// ATC level 4, chemical subgroup (D11AH).
    Atc4,
    /// ATC level 3, pharmacological subgroup (D11A).
    Atc3,
    /// ATC level 2, therapeutic subgroup (D11).
    Atc2,
    /// ATC level 1, anatomical main group (D).
    Atc1,
}

impl From<DrugLevelArg> for DrugLevel {
    fn from(l: DrugLevelArg) -> Self {
        match l {
            DrugLevelArg::Substance => DrugLevel::Substance,
            DrugLevelArg::Atc5 => DrugLevel::Atc5,
            DrugLevelArg::Atc4 => DrugLevel::Atc4,
            DrugLevelArg::Atc3 => DrugLevel::Atc3,
            DrugLevelArg::Atc2 => DrugLevel::Atc2,
            DrugLevelArg::Atc1 => DrugLevel::Atc1,
        }
    }
}

/// The command-line spelling of a value (`ps,ss,i`, `fda`, …), for messages and the commands the
/// report prints.
pub fn value_name(v: &impl ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_as_the_store_spells_them() {
        // The spellings Role::from_str accepts, case-insensitively.
        for (text, role) in [
            ("ps", Role::Ps),
            ("suspect", Role::Suspect),
            ("ps,ss,i", Role::SuspectOrInteracting),
            ("suspect,i", Role::SuspectOrInteracting),
            ("all", Role::All),
        ] {
            let arg = RoleArg::from_str(text, true).unwrap();
            assert_eq!(Role::from(arg), role, "{text}");
            assert_eq!(text.parse::<Role>().unwrap(), role, "{text}");
            assert_eq!(RoleArg::from(role), arg);
        }
        assert_eq!(value_name(&RoleArg::SuspectOrInteracting), "ps,ss,i");
        assert!(RoleArg::from_str("PS", true).is_ok());
        assert!(RoleArg::from_str("concomitant", true).is_err());
    }

    #[test]
    fn term_levels_parse_as_the_libraries_spell_them() {
        // Every command-line spelling converts to the level the library parses from that text.
        for arg in EventLevelArg::value_variants() {
            let text = value_name(arg);
            assert_eq!(EventLevel::from(*arg), text.parse::<EventLevel>().unwrap());
        }
        for arg in DrugLevelArg::value_variants() {
            let text = value_name(arg);
            assert_eq!(DrugLevel::from(*arg), text.parse::<DrugLevel>().unwrap());
        }
        assert_eq!(
            SmqScopeArg::value_variants()
                .iter()
                .map(value_name)
                .collect::<Vec<_>>(),
            ["narrow", "broad"]
        );
    }
}
