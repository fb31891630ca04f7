//! The words of the synthetic task: characters, items, sentence templates, and the full list of
//! tokens the generator can emit. Text is written only through these templates, so the list is
//! exact by construction.

use super::config::SyntheticConfig;
use super::event::EventKind;
use super::templates;

/// A story's protagonist: a name and the pronouns that refer to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Character {
    /// The name, as written in the story.
    pub name: &'static str,
    /// The subject pronoun ("she").
    pub subject: &'static str,
    /// The possessive determiner ("her").
    pub possessive: &'static str,
}

/// The protagonists a story can have.
pub(super) const CHARACTERS: [Character; 6] = [
    Character {
        name: "Mia",
        subject: "she",
        possessive: "her",
    },
    Character {
        name: "Ava",
        subject: "she",
        possessive: "her",
    },
    Character {
        name: "Zoe",
        subject: "she",
        possessive: "her",
    },
    Character {
        name: "Leo",
        subject: "he",
        possessive: "his",
    },
    Character {
        name: "Sam",
        subject: "he",
        possessive: "his",
    },
    Character {
        name: "Max",
        subject: "he",
        possessive: "his",
    },
];

/// The (plural) things a story counts.
pub(super) const ITEMS: [&str; 6] = ["marbles", "apples", "stickers", "coins", "cards", "shells"];

/// The multiplications a story can contain: the factor and the verb that states it.
pub(super) const GROWTH_WORDS: [(u32, &str); 2] = [(2, "double"), (3, "triple")];

/// The verb that states a multiplication by `factor`, if the task has one.
pub(super) fn growth_word(factor: u32) -> Option<&'static str> {
    GROWTH_WORDS
        .iter()
        .find(|(known, _)| *known == factor)
        .map(|(_, word)| *word)
}

/// The slot name of a template token, if it is a `{slot}`.
pub(super) fn slot_name(token: &str) -> Option<&str> {
    token.strip_prefix('{')?.strip_suffix('}')
}

/// Every token the generator can emit, lower-cased: template words and punctuation, operators,
/// names, pronouns, items, growth verbs, and every integer in `0..=max_value` as one token.
///
/// The list has no duplicates and a fixed order, so a word-level tokenizer built from it assigns
/// the same ids on every run.
pub fn vocabulary(config: &SyntheticConfig) -> Vec<String> {
    let template_words = templates::ALL
        .iter()
        .flat_map(|template| template.split_whitespace())
        .filter(|token| slot_name(token).is_none());
    let character_words = CHARACTERS
        .iter()
        .flat_map(|character| [character.name, character.subject, character.possessive]);
    let growth_words = GROWTH_WORDS.iter().map(|(_, word)| *word);
    let words = template_words
        .chain(EventKind::ALL.map(EventKind::operator))
        .chain(character_words)
        .chain(ITEMS)
        .chain(growth_words)
        .map(str::to_lowercase);
    let numbers = (0..=config.max_value).map(|value| value.to_string());

    let mut vocabulary: Vec<String> = Vec::new();
    for token in words.chain(numbers) {
        if !vocabulary.contains(&token) {
            vocabulary.push(token);
        }
    }
    vocabulary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_covers_numbers_and_has_no_duplicates() {
        let config = SyntheticConfig::new().with_max_value(12);
        let vocabulary = vocabulary(&config);
        let mut sorted = vocabulary.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), vocabulary.len());
        for value in 0..=12 {
            assert!(vocabulary.contains(&value.to_string()));
        }
        assert!(!vocabulary.contains(&"13".to_string()));
        for word in ["mia", "she", "marbles", "triple", "+", "=", "?", "."] {
            assert!(
                vocabulary.iter().any(|token| token == word),
                "{word} missing"
            );
        }
        assert!(vocabulary.iter().all(|token| slot_name(token).is_none()));
    }

    #[test]
    fn growth_words_name_their_factor() {
        assert_eq!(growth_word(2), Some("double"));
        assert_eq!(growth_word(4), None);
    }
}
