//! Salary formulas: a small expression language evaluated here, never by
//! running code. Numbers are exact decimals; names are the components of
//! the structure and the variables of the payslip (`base`, `payment_days`,
//! `working_days`). Arithmetic (`+ - * /`), comparisons (`< <= > >= ==
//! !=`, worth 1 or 0), `and`, `or`, `not`, and the functions `min`, `max`,
//! `if(condition, then, else)`, `round(x)` or `round(x, places)` (half away
//! from zero), `floor`, `ceil` and `abs`.
//!
//! Parsing is bounded (length and depth), so no formula a client saves can
//! exhaust the stack; evaluation uses checked arithmetic, so none can
//! overflow or divide by zero unnoticed.

use std::collections::BTreeSet;

use keel_values::RuleError;
use rust_decimal::prelude::ToPrimitive as _;
use rust_decimal::{Decimal, RoundingStrategy};

/// Longest formula, in bytes.
pub const FORMULA_BYTES_MAX: usize = 1000;
/// Deepest nesting of parentheses, calls and operators.
const DEPTH_MAX: usize = 32;
/// Most decimal places `round` takes.
const PLACES_MAX: u32 = 10;

/// A parsed formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    text: String,
    expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(Decimal),
    Name(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
    Call(Function, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Function {
    Min,
    Max,
    If,
    Round,
    Floor,
    Ceil,
    Abs,
}

impl Function {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "min" => Self::Min,
            "max" => Self::Max,
            "if" => Self::If,
            "round" => Self::Round,
            "floor" => Self::Floor,
            "ceil" => Self::Ceil,
            "abs" => Self::Abs,
            _ => return None,
        })
    }

    /// How many arguments it takes: at least, at most.
    fn arity(self) -> (usize, usize) {
        match self {
            Self::Min | Self::Max => (1, 16),
            Self::If => (3, 3),
            Self::Round => (1, 2),
            Self::Floor | Self::Ceil | Self::Abs => (1, 1),
        }
    }
}

impl Formula {
    /// Parses `text`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        if text.trim().is_empty() || text.len() > FORMULA_BYTES_MAX {
            return Err(RuleError::new(format!("a formula is 1 to {FORMULA_BYTES_MAX} bytes")));
        }
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0, depth: 0 };
        let expr = parser.or()?;
        if let Some(token) = parser.tokens.get(parser.at) {
            return Err(RuleError::new(format!("unexpected {} in {text:?}", token.shown())));
        }
        Ok(Self { text: text.to_owned(), expr })
    }

    /// The formula as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The names it refers to.
    pub fn names(&self) -> BTreeSet<&str> {
        let mut names = BTreeSet::new();
        self.expr.names(&mut names);
        names
    }

    /// Its value, with each name's value from `value` (none: an unknown
    /// name, which a saved formula never has).
    pub fn eval(&self, value: &dyn Fn(&str) -> Option<Decimal>) -> Result<Decimal, RuleError> {
        self.expr.eval(value).map_err(|err| err.within(&format!("formula {:?}", self.text)))
    }
}

impl Expr {
    fn names<'a>(&'a self, names: &mut BTreeSet<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Name(name) => drop(names.insert(name.as_str())),
            Expr::Neg(inner) | Expr::Not(inner) => inner.names(names),
            Expr::Binary(_, left, right) => {
                left.names(names);
                right.names(names);
            }
            Expr::Call(_, args) => args.iter().for_each(|arg| arg.names(names)),
        }
    }

    fn eval(&self, value: &dyn Fn(&str) -> Option<Decimal>) -> Result<Decimal, RuleError> {
        let overflow = || RuleError::new("the result is too large");
        let truth = |yes: bool| if yes { Decimal::ONE } else { Decimal::ZERO };
        Ok(match self {
            Expr::Number(number) => *number,
            Expr::Name(name) => {
                value(name).ok_or_else(|| RuleError::new(format!("{name} is not known")))?
            }
            Expr::Neg(inner) => -inner.eval(value)?,
            Expr::Not(inner) => truth(inner.eval(value)?.is_zero()),
            Expr::Binary(op, left, right) => {
                let left = left.eval(value)?;
                // `and` and `or` look at the right side only when it matters.
                match op {
                    Op::And if left.is_zero() => return Ok(Decimal::ZERO),
                    Op::Or if !left.is_zero() => return Ok(Decimal::ONE),
                    _ => {}
                }
                let right = right.eval(value)?;
                match op {
                    Op::Add => left.checked_add(right).ok_or_else(overflow)?,
                    Op::Sub => left.checked_sub(right).ok_or_else(overflow)?,
                    Op::Mul => left.checked_mul(right).ok_or_else(overflow)?,
                    Op::Div if right.is_zero() => {
                        return Err(RuleError::new("division by zero"));
                    }
                    Op::Div => left.checked_div(right).ok_or_else(overflow)?,
                    Op::Lt => truth(left < right),
                    Op::Le => truth(left <= right),
                    Op::Gt => truth(left > right),
                    Op::Ge => truth(left >= right),
                    Op::Eq => truth(left == right),
                    Op::Ne => truth(left != right),
                    Op::And | Op::Or => truth(!right.is_zero()),
                }
            }
            Expr::Call(function, args) => {
                // `if` evaluates only the branch it takes.
                let args: Vec<Decimal> = match function {
                    Function::If => {
                        let chosen =
                            if args[0].eval(value)?.is_zero() { &args[2] } else { &args[1] };
                        vec![chosen.eval(value)?]
                    }
                    _ => args.iter().map(|arg| arg.eval(value)).collect::<Result<_, _>>()?,
                };
                match function {
                    Function::Min => args.iter().copied().fold(args[0], Decimal::min),
                    Function::Max => args.iter().copied().fold(args[0], Decimal::max),
                    Function::Round => {
                        let places = match args.get(1) {
                            None => 0,
                            Some(places) => places
                                .fract()
                                .is_zero()
                                .then(|| places.to_u32())
                                .flatten()
                                .filter(|places| *places <= PLACES_MAX)
                                .ok_or_else(|| {
                                    RuleError::new(format!(
                                        "round takes 0 to {PLACES_MAX} places, not {places}"
                                    ))
                                })?,
                        };
                        args[0]
                            .round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
                    }
                    Function::Floor => args[0].floor(),
                    Function::Ceil => args[0].ceil(),
                    Function::Abs => args[0].abs(),
                    Function::If => args[0],
                }
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(Decimal),
    Name(String),
    Symbol(&'static str),
}

impl Token {
    fn shown(&self) -> String {
        match self {
            Token::Number(number) => number.to_string(),
            Token::Name(name) => format!("{name:?}"),
            Token::Symbol(symbol) => format!("{symbol:?}"),
        }
    }
}

const SYMBOLS: [&str; 14] =
    ["<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "(", ")", ",", "="];

fn tokenize(text: &str) -> Result<Vec<Token>, RuleError> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() {
            rest = &rest[c.len_utf8()..];
        } else if c.is_ascii_digit() || c == '.' {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            let number = rest[..end]
                .parse::<Decimal>()
                .map_err(|_| RuleError::new(format!("{:?} is not a number", &rest[..end])))?;
            tokens.push(Token::Number(number));
            rest = &rest[end..];
        } else if c.is_ascii_lowercase() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            tokens.push(Token::Name(rest[..end].to_owned()));
            rest = &rest[end..];
        } else if let Some(symbol) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            if *symbol == "=" {
                return Err(RuleError::new("compare with == (a formula assigns nothing)"));
            }
            tokens.push(Token::Symbol(symbol));
            rest = &rest[symbol.len()..];
        } else {
            return Err(RuleError::new(format!("{c:?} has no meaning in a formula")));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol);
        self.at += usize::from(found);
        found
    }

    fn word(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Name(w)) if w == word);
        self.at += usize::from(found);
        found
    }

    /// Goes one level deeper, refusing past [`DEPTH_MAX`].
    fn deeper(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > DEPTH_MAX {
            return Err(RuleError::new(format!("a formula nests at most {DEPTH_MAX} deep")));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.deeper()?;
        let mut left = self.and()?;
        while self.word("or") {
            left = Expr::Binary(Op::Or, Box::new(left), Box::new(self.and()?));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.comparison()?;
        while self.word("and") {
            left = Expr::Binary(Op::And, Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, RuleError> {
        let left = self.sum()?;
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (symbol, op) in ops {
            if self.symbol(symbol) {
                return Ok(Expr::Binary(op, Box::new(left), Box::new(self.sum()?)));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.product()?;
        loop {
            let op = if self.symbol("+") {
                Op::Add
            } else if self.symbol("-") {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.symbol("*") {
                Op::Mul
            } else if self.symbol("/") {
                Op::Div
            } else {
                return Ok(left);
            };
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        self.deeper()?;
        let expr = if self.symbol("-") {
            Expr::Neg(Box::new(self.unary()?))
        } else if self.word("not") {
            Expr::Not(Box::new(self.unary()?))
        } else {
            self.atom()?
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn atom(&mut self) -> Result<Expr, RuleError> {
        let token = self.peek().cloned();
        self.at += 1;
        match token {
            Some(Token::Number(number)) => Ok(Expr::Number(number)),
            Some(Token::Symbol("(")) => {
                let inner = self.or()?;
                if !self.symbol(")") {
                    return Err(RuleError::new("a ( is not closed"));
                }
                Ok(inner)
            }
            Some(Token::Name(name)) if ["and", "or", "not"].contains(&name.as_str()) => {
                Err(RuleError::new(format!("{name:?} needs a value before or after it")))
            }
            Some(Token::Name(name)) if self.symbol("(") => {
                let function = Function::named(&name)
                    .ok_or_else(|| RuleError::new(format!("{name:?} is not a function")))?;
                let mut args = Vec::new();
                if !self.symbol(")") {
                    loop {
                        args.push(self.or()?);
                        if self.symbol(")") {
                            break;
                        }
                        if !self.symbol(",") {
                            return Err(RuleError::new(format!("{name}( is not closed")));
                        }
                    }
                }
                let (least, most) = function.arity();
                if args.len() < least || args.len() > most {
                    return Err(RuleError::new(format!(
                        "{name} takes {least} to {most} arguments, not {}",
                        args.len()
                    )));
                }
                Ok(Expr::Call(function, args))
            }
            Some(Token::Name(name)) => Ok(Expr::Name(name)),
            Some(token) => Err(RuleError::new(format!("unexpected {}", token.shown()))),
            None => Err(RuleError::new("the formula ends too soon")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Result<Decimal, RuleError> {
        let value = |name: &str| match name {
            "base" => Some(Decimal::new(300_000, 2)),
            "basic" => Some(Decimal::new(150_000, 2)),
            "payment_days" => Some(Decimal::from(20)),
            "working_days" => Some(Decimal::from(22)),
            _ => None,
        };
        Formula::parse(text)?.eval(&value)
    }

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn formulas_compute_with_exact_decimals_and_the_usual_precedence() {
        assert_eq!(eval("base * 0.5").unwrap(), d("1500.000"));
        assert_eq!(eval("1 + 2 * 3").unwrap(), d("7"));
        assert_eq!(eval("(1 + 2) * 3").unwrap(), d("9"));
        assert_eq!(eval("-basic + 10").unwrap(), d("-1490.00"));
        assert_eq!(eval("10 - 4 - 3").unwrap(), d("3"), "left to right");
        assert_eq!(eval("min(basic * 0.12, 180)").unwrap(), d("180"));
        assert_eq!(eval("max(basic * 0.12, 180, 10)").unwrap(), d("180.0000"));
        assert_eq!(eval("round(basic * payment_days / working_days, 2)").unwrap(), d("1363.64"));
        assert_eq!(eval("round(2.5)").unwrap(), d("3"), "half away from zero");
        assert_eq!(eval("round(-2.5)").unwrap(), d("-3"));
        assert_eq!(eval("floor(2.7) + ceil(2.1) + abs(-1)").unwrap(), d("6"));
        assert_eq!(eval("if(base > 2500, basic * 0.1, 0)").unwrap(), d("150.000"));
        assert_eq!(eval("if(base > 2500 and payment_days < 10, 1, 2)").unwrap(), d("2"));
        assert_eq!(eval("if(not (base == 3000) or basic != 1500, 1, 2)").unwrap(), d("2"));
        // The branch not taken is never evaluated.
        assert_eq!(eval("if(1, 7, 1 / 0)").unwrap(), d("7"));
    }

    #[test]
    fn a_formula_that_is_malformed_or_misbehaves_is_refused_with_a_reason() {
        for (text, expected) in [
            ("", "1 to 1000 bytes"),
            ("base *", "ends too soon"),
            ("(base", "not closed"),
            ("base base", "unexpected \"base\""),
            ("base = 3", "compare with =="),
            ("base $ 3", "no meaning"),
            ("1.2.3", "not a number"),
            ("sqrt(4)", "not a function"),
            ("if(1, 2)", "if takes 3 to 3 arguments, not 2"),
            ("min()", "min takes 1 to 16 arguments, not 0"),
            ("round(1, 2, 3)", "round takes 1 to 2"),
            ("and 1", "needs a value"),
        ] {
            let err = Formula::parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        assert!(Formula::parse(&"1+".repeat(600)).is_err(), "too long");
        let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        assert!(Formula::parse(&deep).unwrap_err().to_string().contains("nests at most"));
        let negated = format!("{}1", "-".repeat(40));
        assert!(Formula::parse(&negated).unwrap_err().to_string().contains("nests at most"));

        for (text, expected) in [
            ("base / (payment_days - 20)", "division by zero"),
            ("bonus * 2", "bonus is not known"),
            ("79228162514264337593543950335 * 2", "too large"),
            ("round(1.5, 0.5)", "round takes 0 to 10 places"),
            ("round(1.5, 11)", "round takes 0 to 10 places"),
        ] {
            let err = eval(text).unwrap_err().to_string();
            assert!(err.contains(expected) && err.contains("formula"), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_formula_names_what_it_refers_to() {
        let formula = Formula::parse("if(basic > 0, min(basic * 0.12, cap), hra) + base").unwrap();
        assert_eq!(
            formula.names().into_iter().collect::<Vec<_>>(),
            ["base", "basic", "cap", "hra"]
        );
        assert_eq!(formula.text(), "if(basic > 0, min(basic * 0.12, cap), hra) + base");
    }
}
