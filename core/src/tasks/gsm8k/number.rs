//! Numbers as GSM8K writes them: reading them out of text (`1,200`, `0.5`), evaluating the
//! calculator expressions of its annotations, and writing values back the way a solution would.

/// A number found in text: where it is and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberSpan {
    /// Byte range of the number in the text.
    pub range: std::ops::Range<usize>,
    /// Its value (thousands separators removed).
    pub value: f64,
}

/// Every number of `text`: runs of digits, with `,` or `.` allowed between two digits. A sign
/// is not part of a number.
pub fn numbers_in(text: &str) -> Vec<NumberSpan> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len()
            && (bytes[i].is_ascii_digit()
                || (matches!(bytes[i], b',' | b'.')
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
        let digits: String = text[start..i].chars().filter(|&c| c != ',').collect();
        if let Ok(value) = digits.parse() {
            spans.push(NumberSpan {
                range: start..i,
                value,
            });
        }
    }
    spans
}

/// Whether two values are the same number, allowing for the rounding of written decimals.
pub fn same_value(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// `value` written as a solution writes it: an integer without a decimal point, otherwise at
/// most two decimals with trailing zeros dropped.
pub fn format_value(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        let text = format!("{rounded:.2}");
        text.trim_end_matches('0').to_string()
    }
}

/// Evaluates a calculator expression of numbers, `+ - * /`, unary minus and parentheses;
/// `None` for anything else, division by zero included.
pub fn evaluate(expression: &str) -> Option<f64> {
    let mut parser = Parser {
        tokens: tokens(expression)?,
        next: 0,
    };
    let value = parser.sum()?;
    (parser.next == parser.tokens.len() && value.is_finite()).then_some(value)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Token {
    Number(f64),
    Operator(u8),
    Open,
    Close,
}

fn tokens(expression: &str) -> Option<Vec<Token>> {
    let numbers = numbers_in(expression);
    let mut numbers = numbers.iter().peekable();
    let mut tokens = Vec::new();
    let mut i = 0;
    let bytes = expression.as_bytes();
    while i < bytes.len() {
        if let Some(number) = numbers.next_if(|number| number.range.start == i) {
            tokens.push(Token::Number(number.value));
            i = number.range.end;
            continue;
        }
        match bytes[i] {
            b'+' | b'-' | b'*' | b'/' => tokens.push(Token::Operator(bytes[i])),
            b'x' | b'X' => tokens.push(Token::Operator(b'*')),
            b'(' => tokens.push(Token::Open),
            b')' => tokens.push(Token::Close),
            b' ' => {}
            _ => return None,
        }
        i += 1;
    }
    Some(tokens)
}

/// Recursive descent over `sum := product (('+'|'-') product)*`,
/// `product := factor (('*'|'/') factor)*`, `factor := '-' factor | number | '(' sum ')'`.
struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.next).copied()
    }

    fn sum(&mut self) -> Option<f64> {
        let mut value = self.product()?;
        while let Some(Token::Operator(op @ (b'+' | b'-'))) = self.peek() {
            self.next += 1;
            let right = self.product()?;
            value = if op == b'+' {
                value + right
            } else {
                value - right
            };
        }
        Some(value)
    }

    fn product(&mut self) -> Option<f64> {
        let mut value = self.factor()?;
        while let Some(Token::Operator(op @ (b'*' | b'/'))) = self.peek() {
            self.next += 1;
            let right = self.factor()?;
            value = if op == b'*' {
                value * right
            } else if right != 0.0 {
                value / right
            } else {
                return None;
            };
        }
        Some(value)
    }

    fn factor(&mut self) -> Option<f64> {
        let token = self.peek()?;
        self.next += 1;
        match token {
            Token::Number(value) => Some(value),
            Token::Operator(b'-') => self.factor().map(|value| -value),
            Token::Open => {
                let value = self.sum()?;
                (self.peek() == Some(Token::Close)).then(|| self.next += 1)?;
                Some(value)
            }
            Token::Operator(_) | Token::Close => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_with_separators_and_decimals() {
        let found: Vec<(&str, f64)> = {
            let text = "Pay $1,200.50 for 3 items, then 0.5 each.";
            numbers_in(text)
                .into_iter()
                .map(|span| (&text[span.range], span.value))
                .collect()
        };
        assert_eq!(found, [("1,200.50", 1200.5), ("3", 3.0), ("0.5", 0.5)]);
    }

    #[test]
    fn expressions_follow_precedence_and_parentheses() {
        assert_eq!(evaluate("48/2"), Some(24.0));
        assert_eq!(evaluate("100-50-30-15"), Some(5.0));
        assert_eq!(evaluate("2+3*4"), Some(14.0));
        assert_eq!(evaluate("(2+3)*4"), Some(20.0));
        assert_eq!(evaluate("-3+10"), Some(7.0));
        assert_eq!(evaluate("1,000*2"), Some(2000.0));
        assert_eq!(evaluate("0.2 * 50"), Some(10.0));
        assert_eq!(evaluate("5/0"), None);
        assert_eq!(evaluate("2^3"), None);
        assert_eq!(evaluate("(2+3"), None);
        assert_eq!(evaluate("2 3"), None);
        assert_eq!(evaluate(""), None);
    }

    #[test]
    fn values_are_written_like_a_solution() {
        assert_eq!(format_value(24.0), "24");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(2.0 / 3.0), "0.67");
        assert_eq!(format_value(-7.0), "-7");
        assert!(same_value(0.1 + 0.2, 0.3));
        assert!(!same_value(24.0, 25.0));
    }
}
