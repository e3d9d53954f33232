//! Tests of the splitter: one case per construct, and properties over generated SQL.

use std::io::{self, BufRead, Read};

use proptest::prelude::*;
use tt_schema::Backend::{self, Mysql, Postgres, Sqlite};

use super::{Piece, Splitter};

/// A reader that hands out its bytes in chunks of the given sizes, cycling through them.
struct Chunked<'a> {
    data: &'a [u8],
    sizes: &'a [usize],
    next: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.len().min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunked<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        Ok(&self.data[..size.min(self.data.len())])
    }

    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
        self.next += 1;
    }
}

/// Splits `input` read in chunks of `sizes` and renders each piece on one line:
/// `line:column sql` for statements, `echo line: text`, `! message` for an error.
fn render(dialect: Backend, input: &[u8], sizes: &[usize]) -> Vec<String> {
    let reader = Chunked {
        data: input,
        sizes,
        next: 0,
    };
    let mut number = 0;
    Splitter::new(reader, dialect)
        .map(|piece| match piece {
            Ok(Piece::Statement(statement)) => {
                number += 1;
                assert_eq!(statement.number, number, "statements are numbered in order");
                let sql = statement.sql.replace('\n', "\\n").replace('\r', "\\r");
                format!("{}:{} {sql}", statement.line, statement.column)
            }
            Ok(Piece::Echo { text, line }) => format!("echo {line}: {text}"),
            Err(error) => format!("! {error}"),
        })
        .collect()
}

/// Splits `input` whole and one byte at a time, and checks both against `expected`.
#[track_caller]
fn check(dialect: Backend, input: impl AsRef<[u8]>, expected: &[&str]) {
    let input = input.as_ref();
    assert_eq!(
        render(dialect, input, &[usize::MAX]),
        expected,
        "whole input"
    );
    assert_eq!(render(dialect, input, &[1]), expected, "one byte at a time");
}

#[test]
fn statements_and_positions() {
    check(Postgres, "SELECT 1", &["1:1 SELECT 1"]);
    check(
        Postgres,
        "SELECT 1;\nSELECT 2;",
        &["1:1 SELECT 1", "2:1 SELECT 2"],
    );
    check(
        Postgres,
        "  SELECT 1 ;; ;\n\n\t SELECT 2  \n",
        &["1:3 SELECT 1", "3:3 SELECT 2"],
    );
    check(
        Postgres,
        "SELECT 'é';  SELECT 2",
        &["1:1 SELECT 'é'", "1:14 SELECT 2"],
    );
    check(Postgres, "SELECT\n  1\n  ;", &["1:1 SELECT\\n  1"]);
    check(Postgres, "", &[]);
    check(Postgres, " \n;\n ; ", &[]);
}

#[test]
fn single_quoted_strings() {
    check(
        Postgres,
        "SELECT 'a;b';SELECT 'it''s;'",
        &["1:1 SELECT 'a;b'", "1:14 SELECT 'it''s;'"],
    );
    check(
        Sqlite,
        "SELECT '';SELECT ''''",
        &["1:1 SELECT ''", "1:11 SELECT ''''"],
    );
    // Standard strings: a backslash is an ordinary character.
    check(
        Postgres,
        r"SELECT 'a\'; SELECT 2",
        &[r"1:1 SELECT 'a\'", "1:14 SELECT 2"],
    );
    check(
        Sqlite,
        r"SELECT 'a\'; SELECT 2",
        &[r"1:1 SELECT 'a\'", "1:14 SELECT 2"],
    );
    check(
        Postgres,
        r"SELECT some'\'; SELECT 2",
        &[r"1:1 SELECT some'\'", "1:17 SELECT 2"],
    );
    // MySQL strings take backslash escapes, in single and double quotes.
    check(
        Mysql,
        r"SELECT 'a\';b'; SELECT 2",
        &[r"1:1 SELECT 'a\';b'", "1:17 SELECT 2"],
    );
    check(
        Mysql,
        r#"SELECT "a\";b"; SELECT 2"#,
        &[r#"1:1 SELECT "a\";b""#, "1:17 SELECT 2"],
    );
    check(
        Mysql,
        r"SELECT 'a\\'; SELECT 2",
        &[r"1:1 SELECT 'a\\'", "1:15 SELECT 2"],
    );
}

#[test]
fn escape_strings_on_postgres() {
    check(
        Postgres,
        r"SELECT E'\';' ; SELECT 2",
        &[r"1:1 SELECT E'\';'", "1:17 SELECT 2"],
    );
    check(
        Postgres,
        r"SELECT e'x\\'; SELECT 2",
        &[r"1:1 SELECT e'x\\'", "1:16 SELECT 2"],
    );
    check(
        Postgres,
        r"SELECT E'a''b;'; SELECT 2",
        &[r"1:1 SELECT E'a''b;'", "1:18 SELECT 2"],
    );
}

#[test]
fn dollar_quotes_on_postgres() {
    check(
        Postgres,
        "SELECT $$a;b$$; SELECT 2",
        &["1:1 SELECT $$a;b$$", "1:17 SELECT 2"],
    );
    check(
        Postgres,
        "SELECT $fn$ $$;$$ $f$ ; $fn$;",
        &["1:1 SELECT $fn$ $$;$$ $f$ ; $fn$"],
    );
    check(
        Postgres,
        "SELECT $a$ $ab$; $a$; SELECT 2",
        &["1:1 SELECT $a$ $ab$; $a$", "1:23 SELECT 2"],
    );
    check(Postgres, "SELECT $_1$;$_1$;", &["1:1 SELECT $_1$;$_1$"]);
    // Parameters and identifiers holding `$` are not dollar quotes.
    check(
        Postgres,
        "SELECT $1; SELECT $2",
        &["1:1 SELECT $1", "1:12 SELECT $2"],
    );
    check(
        Postgres,
        "SELECT a$b; SELECT a$$b;",
        &["1:1 SELECT a$b", "1:13 SELECT a$$b"],
    );
    // Elsewhere `$` is an ordinary character.
    check(Mysql, "SELECT $$a;b$$", &["1:1 SELECT $$a", "1:12 b$$"]);
    check(Sqlite, "SELECT $a;", &["1:1 SELECT $a"]);
}

#[test]
fn quoted_identifiers() {
    check(
        Postgres,
        r#"SELECT "a;b" FROM t; SELECT "x"";""#,
        &[r#"1:1 SELECT "a;b" FROM t"#, r#"1:22 SELECT "x"";""#],
    );
    check(
        Sqlite,
        r#"SELECT "a;b"; SELECT 2"#,
        &[r#"1:1 SELECT "a;b""#, "1:15 SELECT 2"],
    );
    check(
        Mysql,
        "SELECT `back;tick`; SELECT `a``;`",
        &["1:1 SELECT `back;tick`", "1:21 SELECT `a``;`"],
    );
    check(
        Sqlite,
        "SELECT `back;tick`; SELECT 2",
        &["1:1 SELECT `back;tick`", "1:21 SELECT 2"],
    );
    check(
        Sqlite,
        "SELECT [a;b] FROM t; SELECT 2",
        &["1:1 SELECT [a;b] FROM t", "1:22 SELECT 2"],
    );
    // Backticks and brackets mean nothing on PostgreSQL.
    check(Postgres, "SELECT `a;b`", &["1:1 SELECT `a", "1:11 b`"]);
    check(Postgres, "SELECT a[1;", &["1:1 SELECT a[1"]);
}

#[test]
fn line_comments() {
    check(
        Postgres,
        "-- a;b\nSELECT 1; -- c;\nSELECT 2 -- d;\n;",
        &["2:1 SELECT 1", "3:1 SELECT 2 -- d;"],
    );
    check(Postgres, "SELECT 1 -- end", &["1:1 SELECT 1 -- end"]);
    check(Postgres, "SELECT 1; -- end", &["1:1 SELECT 1"]);
    check(Sqlite, "SELECT 1--x;\n;", &["1:1 SELECT 1--x;"]);
    check(
        Mysql,
        "# a;b\nSELECT 1 # c;\n; SELECT 2",
        &["2:1 SELECT 1 # c;", "3:3 SELECT 2"],
    );
    check(Mysql, "SELECT 1 -- c;\n;", &["1:1 SELECT 1 -- c;"]);
    // MySQL needs whitespace after `--`; without it `1--1` is arithmetic.
    check(
        Mysql,
        "SELECT 1--1; SELECT 2",
        &["1:1 SELECT 1--1", "1:14 SELECT 2"],
    );
    check(Mysql, "--\nSELECT 1;--\tx;\n", &["2:1 SELECT 1"]);
    // `#` is an operator on PostgreSQL.
    check(
        Postgres,
        "SELECT 1 # 2; SELECT 3",
        &["1:1 SELECT 1 # 2", "1:15 SELECT 3"],
    );
}

#[test]
fn block_comments() {
    check(
        Postgres,
        "/* a; /* b; */ c; */ SELECT 1;",
        &["1:22 SELECT 1"],
    );
    check(
        Postgres,
        "SELECT /* ; /* ; */ ; */ 1;",
        &["1:1 SELECT /* ; /* ; */ ; */ 1"],
    );
    // Only PostgreSQL nests.
    check(Sqlite, "/* a /* b */ SELECT 1;", &["1:14 SELECT 1"]);
    check(Mysql, "/* a /* b */ SELECT 1;", &["1:14 SELECT 1"]);
    check(Postgres, "/**/SELECT 1;/***/", &["1:5 SELECT 1"]);
    check(
        Postgres,
        "SELECT 2 / 1; / 2",
        &["1:1 SELECT 2 / 1", "1:15 / 2"],
    );
    check(Postgres, "-1; - 1", &["1:1 -1", "1:5 - 1"]);
    // MySQL executable comments are code.
    check(
        Mysql,
        "/*!40101 SET NAMES utf8 */;\n/* plain */ SELECT 1;",
        &["1:1 /*!40101 SET NAMES utf8 */", "2:13 SELECT 1"],
    );
}

#[test]
fn sqlite_triggers() {
    let trigger = "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN new.x > 0 THEN 1 ELSE 0 END;\n  INSERT INTO log VALUES (new.id);\nEND;\nSELECT 1;";
    check(
        Sqlite,
        trigger,
        &[
            "1:1 CREATE TRIGGER t AFTER INSERT ON a BEGIN\\n  UPDATE b SET n = CASE WHEN new.x > 0 THEN 1 ELSE 0 END;\\n  INSERT INTO log VALUES (new.id);\\nEND",
            "5:1 SELECT 1",
        ],
    );
    check(
        Sqlite,
        "create temp trigger if not exists t before delete on a when old.x begin select raise(abort, 'no;'); end; select 1",
        &[
            "1:1 create temp trigger if not exists t before delete on a when old.x begin select raise(abort, 'no;'); end",
            "1:106 select 1",
        ],
    );
    // BEGIN and END as transaction statements, and words that merely contain them.
    check(
        Sqlite,
        "BEGIN;\nSELECT 1;\nEND;",
        &["1:1 BEGIN", "2:1 SELECT 1", "3:1 END"],
    );
    check(
        Sqlite,
        "CREATE TABLE beginning (backend int, \"begin\" int); SELECT 1",
        &[
            "1:1 CREATE TABLE beginning (backend int, \"begin\" int)",
            "1:52 SELECT 1",
        ],
    );
    check(
        Sqlite,
        "CREATE TABLE trigger_log (a int); CREATE VIEW v AS SELECT CASE WHEN 1 THEN 2 END; SELECT 1",
        &[
            "1:1 CREATE TABLE trigger_log (a int)",
            "1:35 CREATE VIEW v AS SELECT CASE WHEN 1 THEN 2 END",
            "1:83 SELECT 1",
        ],
    );
}

#[test]
fn mysql_delimiter() {
    let procedure =
        "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND$$\nDELIMITER ;\nSELECT 3;";
    check(
        Mysql,
        procedure,
        &[
            "2:1 CREATE PROCEDURE p()\\nBEGIN\\n  SELECT 1;\\nEND",
            "7:1 SELECT 3",
        ],
    );
    check(
        Mysql,
        "delimiter //\nSELECT 1; SELECT 2 //\n SELECT '//' // //\ndelimiter ;\nSELECT 4",
        &["2:1 SELECT 1; SELECT 2", "3:2 SELECT '//'", "5:1 SELECT 4"],
    );
    check(
        Mysql,
        "DELIMITER ;;\r\nSELECT 1;;\r\nDELIMITER ;\r\nSELECT 2;",
        &["2:1 SELECT 1", "4:1 SELECT 2"],
    );
    check(
        Mysql,
        "DELIMITER |\nSELECT 1|SELECT 2|",
        &["2:1 SELECT 1", "2:10 SELECT 2"],
    );
    check(
        Mysql,
        "SELECT delimiter FROM t; SELECT 1",
        &["1:1 SELECT delimiter FROM t", "1:26 SELECT 1"],
    );
    check(
        Mysql,
        "SELECT 1;\nDELIMITER\nSELECT 2",
        &[
            "1:1 SELECT 1",
            "! DELIMITER without a delimiter at line 2 (write e.g. DELIMITER $$)",
        ],
    );
    check(
        Mysql,
        "DELIMITER  \n",
        &["! DELIMITER without a delimiter at line 1 (write e.g. DELIMITER $$)"],
    );
    // Only MySQL has DELIMITER.
    check(
        Sqlite,
        "DELIMITER $$\nSELECT 1;",
        &["1:1 DELIMITER $$\\nSELECT 1"],
    );
}

#[test]
fn mysql_routines_without_delimiter() {
    let procedure = "CREATE PROCEDURE p()\nBEGIN\n  DECLARE x INT DEFAULT 0;\n  IF x > 0 THEN SELECT 1; END IF;\n  WHILE x < 3 DO SET x = x + 1; END WHILE;\n  l: LOOP LEAVE l; END LOOP l;\n  REPEAT SET x = x - 1; UNTIL x < 0 END REPEAT;\n  CASE x WHEN 1 THEN SELECT 1; ELSE BEGIN SELECT 2; END; END CASE;\n  SELECT CASE WHEN x THEN 1 END, REPEAT('a', 2);\nEND;\nSELECT 3;";
    let rendered = render(Mysql, procedure.as_bytes(), &[1]);
    assert_eq!(rendered.len(), 2, "{rendered:#?}");
    assert!(
        rendered[0].starts_with("1:1 CREATE PROCEDURE p()")
            && rendered[0].ends_with("REPEAT('a', 2);\\nEND")
    );
    assert_eq!(rendered[1], "11:1 SELECT 3");
    check(
        Mysql,
        "CREATE DEFINER=`root`@`localhost` TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END; SELECT 1",
        &[
            "1:1 CREATE DEFINER=`root`@`localhost` TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; END",
            "1:103 SELECT 1",
        ],
    );
    check(
        Mysql,
        "CREATE DEFINER = CURRENT_USER() EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; END; SELECT 1",
        &[
            "1:1 CREATE DEFINER = CURRENT_USER() EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; END",
            "1:94 SELECT 1",
        ],
    );
    check(
        Mysql,
        "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1; SELECT 1",
        &[
            "1:1 CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1",
            "1:57 SELECT 1",
        ],
    );
    check(
        Mysql,
        "CREATE TABLE event (begin INT); SELECT 1",
        &["1:1 CREATE TABLE event (begin INT)", "1:33 SELECT 1"],
    );
    check(
        Mysql,
        "BEGIN NOT ATOMIC SELECT 1; END; SELECT 2",
        &["1:1 BEGIN NOT ATOMIC SELECT 1; END", "1:33 SELECT 2"],
    );
    check(
        Mysql,
        "BEGIN; SELECT 1; COMMIT;",
        &["1:1 BEGIN", "1:8 SELECT 1", "1:18 COMMIT"],
    );
}

#[test]
fn postgres_bodies() {
    check(
        Postgres,
        "BEGIN;\nSELECT 1;\nCOMMIT;",
        &["1:1 BEGIN", "2:1 SELECT 1", "3:1 COMMIT"],
    );
    check(
        Postgres,
        "BEGIN TRANSACTION; END;",
        &["1:1 BEGIN TRANSACTION", "1:20 END"],
    );
    let atomic = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n  SELECT 2;\nEND;\nSELECT 3;";
    check(
        Postgres,
        atomic,
        &[
            "1:1 CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\\nBEGIN ATOMIC\\n  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\\n  SELECT 2;\\nEND",
            "6:1 SELECT 3",
        ],
    );
    check(
        Postgres,
        "CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql; SELECT 2",
        &[
            "1:1 CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
            "1:69 SELECT 2",
        ],
    );
    let plpgsql = "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$\nBEGIN\n  IF NEW.x IS NULL THEN RAISE EXCEPTION 'x; $$ missing'; END IF;\n  RETURN NEW;\nEND;\n$body$ LANGUAGE plpgsql;\nDO $$ BEGIN PERFORM 1; END $$;\nDO 'BEGIN PERFORM 2; END';";
    check(
        Postgres,
        plpgsql,
        &[
            "1:1 CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $body$\\nBEGIN\\n  IF NEW.x IS NULL THEN RAISE EXCEPTION 'x; $$ missing'; END IF;\\n  RETURN NEW;\\nEND;\\n$body$ LANGUAGE plpgsql",
            "7:1 DO $$ BEGIN PERFORM 1; END $$",
            "8:1 DO 'BEGIN PERFORM 2; END'",
        ],
    );
    check(
        Postgres,
        "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f(); SELECT 1",
        &[
            "1:1 CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()",
            "1:72 SELECT 1",
        ],
    );
    check(
        Postgres,
        "-- tt:no-transaction\nCREATE INDEX CONCURRENTLY idx_a ON t (a);\nCREATE INDEX CONCURRENTLY idx_b ON t (b);\n",
        &[
            "2:1 CREATE INDEX CONCURRENTLY idx_a ON t (a)",
            "3:1 CREATE INDEX CONCURRENTLY idx_b ON t (b)",
        ],
    );
    // Like psql, `;` inside parentheses does not end a statement (CREATE RULE … DO (…; …)).
    check(
        Postgres,
        "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY b); SELECT 1",
        &[
            "1:1 CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); NOTIFY b)",
            "1:79 SELECT 1",
        ],
    );
}

#[test]
fn psql_meta_commands() {
    check(
        Postgres,
        "\\echo Creating tables\nSELECT 1;\n\\set ON_ERROR_STOP on\n  \\echo 'it''s done'\n",
        &[
            "echo 1: Creating tables",
            "2:1 SELECT 1",
            "echo 4: it's done",
        ],
    );
    check(
        Postgres,
        "\\set ON_ERROR_STOP 1\n\\set ON_ERROR_STOP TRUE\nSELECT 1",
        &["3:1 SELECT 1"],
    );
    check(
        Postgres,
        "SELECT 1; \\echo same line\r\nSELECT 2",
        &["1:1 SELECT 1", "echo 1: same line", "2:1 SELECT 2"],
    );
    check(Postgres, "\\echo", &["echo 1: "]);
    check(
        Postgres,
        "SELECT 1;\n\\i other.sql\nSELECT 2;",
        &[
            "1:1 SELECT 1",
            "! unsupported psql meta-command `\\i other.sql` at line 2 (only \\echo and \\set ON_ERROR_STOP on are accepted)",
        ],
    );
    let unsupported = |command: &str| {
        format!(
            "! unsupported psql meta-command `{command}` at line 1 (only \\echo and \\set ON_ERROR_STOP on are accepted)"
        )
    };
    for command in [
        "\\c db",
        "\\connect db",
        "\\set ON_ERROR_STOP off",
        "\\set FOO bar",
        "\\set on_error_stop on",
        "\\set ON_ERROR_STOP",
        "\\echoX",
    ] {
        check(
            Postgres,
            format!("{command}\nSELECT 1"),
            &[&unsupported(command)],
        );
    }
    // Inside a statement a backslash is the server's business.
    check(
        Postgres,
        "SELECT 1\n\\echo x\n;",
        &["1:1 SELECT 1\\n\\echo x"],
    );
    check(
        Mysql,
        "-- c\n\\echo hi\nSELECT 1",
        &["echo 2: hi", "3:1 SELECT 1"],
    );
}

#[test]
fn line_endings_and_bom() {
    check(
        Postgres,
        "SELECT 1;\r\nSELECT\r\n 2;\r\n",
        &["1:1 SELECT 1", "2:1 SELECT\\r\\n 2"],
    );
    check(Postgres, "-- c\r\nSELECT 1", &["2:1 SELECT 1"]);
    check(
        Postgres,
        "\u{feff}SELECT 1;\nSELECT 2",
        &["1:1 SELECT 1", "2:1 SELECT 2"],
    );
    check(Postgres, "\u{feff}", &[]);
    check(Postgres, "\u{feff}  SELECT 1", &["1:3 SELECT 1"]);
    check(Postgres, "\u{fefe}SELECT 1", &["1:1 \u{fefe}SELECT 1"]);
    check(
        Postgres,
        b"\xEF\xBBSELECT 1".as_slice(),
        &["! invalid UTF-8 at line 1"],
    );
}

#[test]
fn unterminated_constructs_name_where_they_began() {
    // Regression: a word `e` before `"` once moved the identifier's start one column back.
    check(
        Postgres,
        "SELECT e\"abc",
        &["! unterminated quoted identifier starting at line 1, column 9"],
    );
    check(
        Postgres,
        "SELECT 1;\nSELECT 'abc\n;\n",
        &[
            "1:1 SELECT 1",
            "! unterminated string starting at line 2, column 8",
        ],
    );
    check(
        Postgres,
        "SELECT E'abc\\'",
        &["! unterminated string starting at line 1, column 8"],
    );
    check(
        Postgres,
        "SELECT 'a', 'it''s",
        &["! unterminated string starting at line 1, column 13"],
    );
    check(
        Postgres,
        "SELECT \"a\", \"b\"\"",
        &["! unterminated quoted identifier starting at line 1, column 13"],
    );
    check(
        Mysql,
        "SELECT 'abc\\'",
        &["! unterminated string starting at line 1, column 8"],
    );
    check(
        Mysql,
        "SELECT \"abc",
        &["! unterminated string starting at line 1, column 8"],
    );
    check(
        Postgres,
        "SELECT \"abc",
        &["! unterminated quoted identifier starting at line 1, column 8"],
    );
    check(
        Mysql,
        "\nSELECT `abc",
        &["! unterminated quoted identifier starting at line 2, column 8"],
    );
    check(
        Sqlite,
        "SELECT [abc",
        &["! unterminated quoted identifier starting at line 1, column 8"],
    );
    check(
        Postgres,
        "SELECT $fn$ abc $fn",
        &["! unterminated dollar-quoted string starting at line 1, column 8"],
    );
    check(
        Postgres,
        "SELECT $$ abc $",
        &["! unterminated dollar-quoted string starting at line 1, column 8"],
    );
    check(
        Postgres,
        "SELECT 1;\n  /* a\n/* b */\n",
        &[
            "1:1 SELECT 1",
            "! unterminated block comment starting at line 2, column 3",
        ],
    );
    check(
        Postgres,
        "SELECT 1 /* a",
        &["! unterminated block comment starting at line 1, column 10"],
    );
    check(
        Mysql,
        "/*! SET x = 1",
        &["! unterminated block comment starting at line 1, column 1"],
    );
    check(
        Sqlite,
        "CREATE TRIGGER t AFTER INSERT ON a\n  BEGIN\n SELECT 1;\n",
        &["! unterminated BEGIN … END body starting at line 2, column 3"],
    );
    check(
        Postgres,
        "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1;",
        &["! unterminated BEGIN … END body starting at line 1, column 35"],
    );
}

#[test]
fn keyword_at_end_of_input() {
    check(Sqlite, "BEGIN", &["1:1 BEGIN"]);
    check(
        Sqlite,
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN",
        &["! unterminated BEGIN … END body starting at line 1, column 36"],
    );
    check(
        Mysql,
        "SELECT 1;\nDELIMITER",
        &[
            "1:1 SELECT 1",
            "! DELIMITER without a delimiter at line 2 (write e.g. DELIMITER $$)",
        ],
    );
}

#[test]
fn invalid_utf8_names_its_line() {
    check(
        Postgres,
        b"SELECT 1;\nSELECT\n'\xff';".as_slice(),
        &["1:1 SELECT 1", "! invalid UTF-8 at line 3"],
    );
    check(
        Postgres,
        b"\\echo \xff\n".as_slice(),
        &["! invalid UTF-8 at line 1"],
    );
}

#[test]
fn read_errors_are_reported() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let pieces: Vec<_> = Splitter::new(io::BufReader::new(Failing), Postgres)
        .map(|piece| {
            piece.map_err(|error| {
                let source = std::error::Error::source(&error).map(ToString::to_string);
                (error.to_string(), source)
            })
        })
        .collect();
    assert_eq!(
        pieces,
        [Err((
            "read failed".to_owned(),
            Some("disk on fire".to_owned())
        ))]
    );
}

#[test]
fn long_statements_keep_their_text_across_buffers() {
    let long = format!(
        "INSERT INTO t VALUES ('{}');\nSELECT 2",
        "x;".repeat(100_000)
    );
    let expected = format!("1:1 {}", &long[..long.find(");").unwrap() + 1]);
    assert_eq!(
        render(Postgres, long.as_bytes(), &[8192]),
        [expected.as_str(), "2:1 SELECT 2"]
    );
    assert_eq!(
        render(Postgres, long.as_bytes(), &[7, 1, 3]),
        [expected.as_str(), "2:1 SELECT 2"]
    );
}

// Properties.

fn words() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_]{0,6}",
        "[0-9]{1,4}",
        Just("-".to_owned()),
        Just("/".to_owned()),
        Just("*".to_owned()),
        Just(",".to_owned()),
        Just("(x)".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\t".to_owned()),
        "é|日本",
    ]
}

/// Fragments of a statement in `dialect`, none of which changes how the text around it lexes.
fn fragment(dialect: Backend) -> BoxedStrategy<String> {
    let text = "[a-z ;'\"`$#*/\\-]{0,8}";
    let single = text.prop_map(move |t| {
        let t = if dialect == Mysql {
            t.replace('\\', "\\\\")
        } else {
            t
        };
        format!("'{}'", t.replace('\'', "''"))
    });
    let block = "[a-z ;'\"`$#-]{0,8}".prop_map(|t| format!("/*{t}*/"));
    let line = "[a-z ;'\"`$#*/\\-]{0,8}".prop_map(|t| format!("-- {t}\n"));
    let common = prop_oneof![4 => words(), 2 => single, 1 => block, 1 => line];
    match dialect {
        Postgres => {
            let escape =
                text.prop_map(|t| format!("E'{}'", t.replace('\\', "\\\\").replace('\'', "\\'")));
            let ident = text.prop_map(|t| format!("\"{}\"", t.replace('"', "\"\"")));
            let nested = prop_oneof![Just(""), Just("q")];
            let dollar = (
                prop_oneof![Just("fn"), Just("body_1")],
                "[a-z ;'\"]{0,6}",
                nested,
                "[a-z ;'\"]{0,6}",
            )
                .prop_map(|(tag, a, inner, b)| format!("${tag}$ {a} ${inner}$ {b} ${tag}$"));
            let plain_dollar = "[a-z ;'\"]{0,8}".prop_map(|t| format!("$$ {t} $$"));
            let nested_comment = "[a-z ;]{0,4}".prop_map(|t| format!("/* {t} /* {t} */ {t} */"));
            prop_oneof![6 => common, 1 => escape, 1 => ident, 1 => dollar, 1 => plain_dollar, 1 => nested_comment, 1 => Just("$1".to_owned()), 1 => Just("#".to_owned())].boxed()
        }
        Mysql => {
            let double =
                text.prop_map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")));
            let backtick = text.prop_map(|t| format!("`{}`", t.replace('`', "``")));
            let hash = "[a-z ;'\"`]{0,8}".prop_map(|t| format!("#{t}\n"));
            prop_oneof![6 => common, 1 => double, 1 => backtick, 1 => hash].boxed()
        }
        Sqlite => {
            let ident = text.prop_map(|t| format!("\"{}\"", t.replace('"', "\"\"")));
            let backtick = text.prop_map(|t| format!("`{}`", t.replace('`', "``")));
            let bracket = "[a-z ;'\"`]{0,8}".prop_map(|t| format!("[{t}]"));
            prop_oneof![6 => common, 1 => ident, 1 => backtick, 1 => bracket].boxed()
        }
    }
}

/// What may come before a statement and is skipped: whitespace and comments.
fn gap() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(" "),
            Just("\n"),
            Just("\r\n"),
            Just("-- x;\n"),
            Just("/* y; */")
        ],
        0..3,
    )
    .prop_map(|parts| parts.concat())
}

fn statements() -> impl Strategy<Value = (Backend, Vec<(String, String)>)> {
    prop_oneof![Just(Postgres), Just(Mysql), Just(Sqlite)].prop_flat_map(|dialect| {
        let statement = (gap(), prop::collection::vec(fragment(dialect), 0..8))
            .prop_map(|(gap, fragments)| (gap, format!("SELECT {}", fragments.join(" "))));
        (Just(dialect), prop::collection::vec(statement, 0..6))
    })
}

/// Interesting snippets for inputs that need not make sense.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let snippet = prop_oneof![
        prop::sample::select(vec![
            "'",
            "\"",
            "`",
            "[",
            "]",
            "$",
            "$$",
            "$a$",
            "E'",
            "\\",
            "--",
            "-",
            "#",
            "/*",
            "*/",
            "/*!",
            "*",
            "/",
            ";",
            "\n",
            "\r\n",
            " ",
            "(",
            ")",
            "\\echo x\n",
            "\\i y",
            "\\set ON_ERROR_STOP on\n",
            "BEGIN",
            "END",
            "CASE",
            "ATOMIC",
            "CREATE TRIGGER",
            "CREATE PROCEDURE",
            "DELIMITER $$\n",
            "DELIMITER ;\n",
            "DELIMITER",
            "a",
            "\u{feff}",
            "é",
            "\u{fe}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(snippet, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn joined_statements_split_back((dialect, statements) in statements()) {
        let mut input = String::new();
        let mut expected = Vec::new();
        for (gap, sql) in &statements {
            input.push_str(gap);
            let line = 1 + input.matches('\n').count();
            let column = 1 + input[input.rfind('\n').map_or(0, |at| at + 1)..].chars().count();
            let trimmed = sql.trim_end_matches([' ', '\t', '\r', '\n']);
            expected.push(format!("{line}:{column} {}", trimmed.replace('\n', "\\n").replace('\r', "\\r")));
            input.push_str(sql);
            input.push_str(";\n");
        }
        prop_assert_eq!(&render(dialect, input.as_bytes(), &[usize::MAX]), &expected, "{:?}", input);
        prop_assert_eq!(&render(dialect, input.as_bytes(), &[1, 2, 5]), &expected, "{:?}", input);
    }

    #[test]
    fn any_input_splits_the_same_in_any_chunks(input in noise(), sizes in prop::collection::vec(1..9usize, 1..4)) {
        for dialect in Backend::ALL {
            let whole = render(dialect, &input, &[usize::MAX]);
            prop_assert_eq!(&render(dialect, &input, &sizes), &whole, "{:?} {:?}", dialect, String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..400)) {
        for dialect in Backend::ALL {
            let pieces = render(dialect, &input, &[3]);
            // After an error nothing more comes.
            let first_error = pieces.iter().position(|piece| piece.starts_with('!'));
            prop_assert!(first_error.is_none_or(|at| at + 1 == pieces.len()));
        }
    }
}
