//! Settings chosen by name (`"whole"`, `"prefix"`) on the command line and in configuration
//! files, which must keep reading files saved before the setting existed.

/// A setting with a fixed set of choices, each written by a name of its own.
pub trait NamedChoice: Copy + PartialEq + 'static {
    /// Every choice, in the order the command line and errors list them.
    const ALL: &'static [Self];

    /// The name used on the command line and in files.
    fn name(self) -> &'static str;

    /// The choice called `name`, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|choice| choice.name() == name)
    }

    /// Every choice's name, joined by `", "`, for errors.
    fn names() -> String {
        Self::ALL
            .iter()
            .map(|choice| choice.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Implements `Serialize`, `Deserialize` and `Display` for a [`NamedChoice`] by its name.
/// `Default` is what a file without the field reads as (serde reads an absent field as an
/// `Option`'s `None`; burn's `Config` has no per-field default when it deserialises). `$what`
/// names the setting in the error for an unknown name.
macro_rules! serde_by_name {
    ($choice:ty, $what:literal) => {
        impl serde::Serialize for $choice {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use $crate::named_choice::NamedChoice;
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $choice {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                use $crate::named_choice::NamedChoice;
                match Option::<String>::deserialize(deserializer)? {
                    None => Ok(<$choice>::default()),
                    Some(name) => <$choice>::from_name(&name).ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "unknown {} `{name}`, expected one of: {}",
                            $what,
                            <$choice>::names()
                        ))
                    }),
                }
            }
        }

        impl std::fmt::Display for $choice {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                use $crate::named_choice::NamedChoice;
                f.write_str(self.name())
            }
        }
    };
}

pub(crate) use serde_by_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    enum Shade {
        #[default]
        Light,
        Dark,
    }

    impl NamedChoice for Shade {
        const ALL: &'static [Self] = &[Shade::Light, Shade::Dark];

        fn name(self) -> &'static str {
            match self {
                Shade::Light => "light",
                Shade::Dark => "dark",
            }
        }
    }

    serde_by_name!(Shade, "shade");

    #[test]
    fn every_choice_is_found_by_its_name() {
        for &shade in Shade::ALL {
            assert_eq!(Shade::from_name(shade.name()), Some(shade));
        }
        assert_eq!(Shade::from_name("grey"), None);
        assert_eq!(Shade::names(), "light, dark");
    }

    #[test]
    fn files_write_the_name_and_an_absent_field_reads_the_default() {
        assert_eq!(serde_json::to_string(&Shade::Dark).unwrap(), "\"dark\"");
        assert_eq!(Shade::Dark.to_string(), "dark");
        assert_eq!(serde_json::from_str::<Shade>("null").unwrap(), Shade::Light);
        let error = serde_json::from_str::<Shade>("\"grey\"")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown shade `grey`, expected one of: light, dark"),
            "{error}"
        );
    }
}
