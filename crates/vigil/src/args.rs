//! Command-line values shared by several subcommands, as clap `ValueEnum`s that convert to the
//! library's types (the libraries know nothing of clap).

use clap::ValueEnum;
use vigil_store::count::Margins;
use vigil_store::read::{DateField, Role};

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
}
