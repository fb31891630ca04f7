//! Settings chosen by name (`"whole"`, `"prefix"`) in configuration files, which must keep
//! reading files saved before the setting existed.

/// Implements `Serialize` and `Deserialize` for a choice by its name: the type's inherent
/// `ALL` (every choice), `name()` and `from_name()` give the names, and `Default` is what a
/// file without the field reads as (serde reads an absent field as an `Option`'s `None`; burn's
/// `Config` has no per-field default when it deserialises). `$what` names the setting in the
/// error for an unknown name.
macro_rules! serde_by_name {
    ($choice:ty, $what:literal) => {
        impl serde::Serialize for $choice {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $choice {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match Option::<String>::deserialize(deserializer)? {
                    None => Ok(<$choice>::default()),
                    Some(name) => <$choice>::from_name(&name).ok_or_else(|| {
                        let known: Vec<&str> = <$choice>::ALL.iter().map(|c| c.name()).collect();
                        serde::de::Error::custom(format!(
                            "unknown {} `{name}`, expected one of: {}",
                            $what,
                            known.join(", ")
                        ))
                    }),
                }
            }
        }
    };
}

pub(crate) use serde_by_name;
