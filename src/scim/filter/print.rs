//! Canonical printing: lower-case operators, single spaces, JSON literals, and parentheses only
//! where the tree needs them, so that `parse(&f.to_string()) == Ok(f)`.

use std::fmt::{self, Display, Formatter, Write};

use super::{CompValue, Filter};

/// Binding strength, loosest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Or,
    And,
    Atom,
}

impl Display for CompValue {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::String(s) => {
                // serde_json escapes exactly what JSON requires, which our parser reads back.
                let quoted = serde_json::to_string(s).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
        }
    }
}

fn write_at(f: &mut Formatter<'_>, filter: &Filter, min: Level) -> fmt::Result {
    let own = match filter {
        Filter::Or(..) => Level::Or,
        Filter::And(..) => Level::And,
        _ => Level::Atom,
    };
    let paren = own < min;
    if paren {
        f.write_char('(')?;
    }
    match filter {
        Filter::Present(p) => write!(f, "{p} pr")?,
        Filter::Compare(p, op, v) => write!(f, "{p} {} {v}", op.as_str())?,
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_at(f, inner, Level::Or)?;
            f.write_char(')')?;
        }
        // Left-associative: the left operand may be the same operator unparenthesised, the
        // right one may not.
        Filter::And(a, b) => {
            write_at(f, a, Level::And)?;
            f.write_str(" and ")?;
            write_at(f, b, Level::Atom)?;
        }
        Filter::Or(a, b) => {
            write_at(f, a, Level::Or)?;
            f.write_str(" or ")?;
            write_at(f, b, Level::And)?;
        }
        Filter::ValuePath(p, inner) => {
            write!(f, "{p}[")?;
            write_at(f, inner, Level::Or)?;
            f.write_char(']')?;
        }
    }
    if paren {
        f.write_char(')')?;
    }
    Ok(())
}

impl Display for Filter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_at(f, self, Level::Or)
    }
}
