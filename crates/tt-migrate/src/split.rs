//! TEMPORARY naive splitter (replaced by the real one from the split branch).
#![allow(missing_docs, unreachable_pub, dead_code)]
use std::io::BufRead;
use tt_schema::Backend;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub line: u32,
    pub column: u32,
    pub number: u32,
}
#[derive(Debug)]
pub enum Piece {
    Statement(Statement),
    Echo { text: String, line: u32 },
}
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct Splitter<R> {
    items: std::vec::IntoIter<Result<Piece, SplitError>>,
    _r: std::marker::PhantomData<R>,
}
impl<R: BufRead> Splitter<R> {
    pub fn new(mut reader: R, _backend: Backend) -> Self {
        let mut text = String::new();
        let mut items = Vec::new();
        if let Err(e) = reader.read_to_string(&mut text) {
            items.push(Err(e.into()));
        }
        let (mut line, mut col, mut number) = (1u32, 1u32, 0u32);
        let mut cur = String::new();
        let mut start = (1, 1);
        let mut in_q = false;
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_q && cur.trim().is_empty() && c == '\\' {
                let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
                if let Some(t) = rest.strip_prefix("\\echo ") {
                    items.push(Ok(Piece::Echo {
                        text: t.to_string(),
                        line,
                    }));
                }
                i += rest.chars().count();
                continue;
            }
            if !in_q && c == '-' && chars.get(i + 1) == Some(&'-') && cur.trim().is_empty() {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            if c == '\'' {
                in_q = !in_q;
            }
            if c == ';' && !in_q {
                if !cur.trim().is_empty() {
                    number += 1;
                    items.push(Ok(Piece::Statement(Statement {
                        sql: cur.trim_end().to_string(),
                        line: start.0,
                        column: start.1,
                        number,
                    })));
                }
                cur.clear();
            } else {
                if cur.is_empty() && c.is_whitespace() {
                } else {
                    if cur.is_empty() {
                        start = (line, col);
                    }
                    cur.push(c);
                }
            }
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            i += 1;
        }
        if !cur.trim().is_empty() {
            number += 1;
            items.push(Ok(Piece::Statement(Statement {
                sql: cur.trim_end().to_string(),
                line: start.0,
                column: start.1,
                number,
            })));
        }
        Self {
            items: items.into_iter(),
            _r: std::marker::PhantomData,
        }
    }
}
impl<R> Iterator for Splitter<R> {
    type Item = Result<Piece, SplitError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.items.next()
    }
}
