//! Tests of the subscriber CSV parser: header, rows, line numbers, duplicates.

use super::*;

fn error(line: usize, field: Option<&'static str>, reason: &str) -> RowError {
    RowError {
        line,
        field,
        reason: reason.to_owned(),
    }
}

fn lines_of(errors: &[RowError]) -> Vec<(usize, Option<&str>)> {
    errors.iter().map(|e| (e.line, e.field)).collect()
}

#[test]
fn good_rows_are_kept_with_their_line_numbers() {
    let parse = parse_subscribers_csv(
        "phone,email,topics\n\
         06 12 34 56 78,jean@mairie.fr,crue;travaux\n\
         ,Marie@Exemple.FR,crue\n\
         0692 12 34 56,,ecoles\n",
    );
    assert_eq!(parse.errors, []);
    assert_eq!(parse.rows.len(), 3);
    let first = &parse.rows[0];
    assert_eq!(first.line, 2);
    assert_eq!(first.phone.as_ref().unwrap().as_str(), "+33612345678");
    assert_eq!(first.email.as_ref().unwrap().as_str(), "jean@mairie.fr");
    let topics: Vec<&str> = first.topics.iter().map(Slug::as_str).collect();
    assert_eq!(topics, ["crue", "travaux"]);
    assert_eq!(parse.rows[1].line, 3);
    assert_eq!(parse.rows[1].phone, None);
    assert_eq!(
        parse.rows[1].email.as_ref().unwrap().as_str(),
        "Marie@exemple.fr"
    );
    assert_eq!(
        parse.rows[2].phone.as_ref().unwrap().as_str(),
        "+262692123456"
    );
    assert_eq!(parse.rows[2].email, None);
}

#[test]
fn header_columns_may_come_in_any_order_and_case() {
    let parse = parse_subscribers_csv(" Topics , PHONE,Email\ncrue,0612345678,\n");
    assert_eq!(parse.errors, []);
    assert_eq!(
        parse.rows[0].phone.as_ref().unwrap().as_str(),
        "+33612345678"
    );
}

#[test]
fn bom_crlf_blank_lines_and_quoted_fields_are_tolerated() {
    let input = "\u{FEFF}phone,email,topics\r\n\r\n\
                 \"06 12 34 56 78\",,\"crue; travaux;;crue\"\r\n\
                 \r\n\
                 ,a@b.fr,crue\r\n";
    let parse = parse_subscribers_csv(input);
    assert_eq!(parse.errors, []);
    let lines: Vec<usize> = parse.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 5]);
    let topics: Vec<&str> = parse.rows[0].topics.iter().map(Slug::as_str).collect();
    assert_eq!(topics, ["crue", "travaux"]);
}

#[test]
fn line_numbers_survive_crlf_lone_cr_and_blank_lines() {
    for input in [
        "phone,email,topics\n\n0612345678,,crue\n\n\n0611111111,,crue",
        "phone,email,topics\r\n\r\n0612345678,,crue\r\n\r\n\r\n0611111111,,crue\r\n",
        "phone,email,topics\r\r0612345678,,crue\r\r\r0611111111,,crue\r",
    ] {
        let parse = parse_subscribers_csv(input);
        let lines: Vec<usize> = parse.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 6], "{input:?}");
    }
}

#[test]
fn a_row_spanning_lines_is_reported_at_its_first_line() {
    let input = "phone,email,topics\n\"06 12\n34 56 78\",,crue\nfoo,,crue\n";
    let parse = parse_subscribers_csv(input);
    assert_eq!(parse.rows[0].line, 2);
    assert_eq!(lines_of(&parse.errors), [(4, Some("phone"))]);
}

#[test]
fn every_bad_row_is_reported_and_every_good_row_kept() {
    let input = "phone,email,topics\n\
                 0612345678,,crue\n\
                 06 12,,crue\n\
                 ,jean@,crue\n\
                 0611111111,,Crue\n\
                 ,,crue\n\
                 0622222222,,\n\
                 0633333333,x@y.fr,;;\n\
                 0644444444,,travaux\n";
    let parse = parse_subscribers_csv(input);
    let kept: Vec<usize> = parse.rows.iter().map(|r| r.line).collect();
    assert_eq!(kept, [2, 9]);
    assert_eq!(
        lines_of(&parse.errors),
        [
            (3, Some("phone")),
            (4, Some("email")),
            (5, Some("topics")),
            (6, None),
            (7, Some("topics")),
            (8, Some("topics")),
        ]
    );
    assert_eq!(
        parse.errors[0].reason,
        "phone number must have 10 digits in French national form (e.g. 06 12 34 56 78) or \
         start with +; found 4 digits"
    );
    assert_eq!(
        parse.errors[2].reason,
        "topic \"Crue\": slug contains 'C'; only lower-case letters a-z, digits and '-' are \
         allowed"
    );
    assert_eq!(
        parse.errors[3],
        error(
            6,
            None,
            "row has neither a phone number, an e-mail address nor a fixed line"
        )
    );
    assert_eq!(
        parse.errors[4],
        error(
            7,
            Some("topics"),
            "at least one topic is required (separate several with ';')"
        )
    );
}

#[test]
fn all_faults_of_one_row_are_reported() {
    let parse = parse_subscribers_csv("phone,email,topics\nabc,nope,Bad Topic\n");
    assert_eq!(parse.rows, []);
    assert_eq!(
        lines_of(&parse.errors),
        [(2, Some("phone")), (2, Some("email")), (2, Some("topics"))]
    );
}

#[test]
fn duplicates_name_the_earlier_line() {
    let input = "phone,email,topics\n\
                 06 12 34 56 78,jean@mairie.fr,crue\n\
                 +33 6 12 34 56 78,,travaux\n\
                 ,JEAN@Mairie.fr,travaux\n\
                 0699999999,autre@mairie.fr,crue\n";
    let parse = parse_subscribers_csv(input);
    let kept: Vec<usize> = parse.rows.iter().map(|r| r.line).collect();
    assert_eq!(kept, [2, 5]);
    assert_eq!(
        parse.errors,
        [
            error(
                3,
                Some("phone"),
                "same phone number as line 2; put all of a subscriber's topics on one row, \
                 separated by ';'"
            ),
            error(
                4,
                Some("email"),
                "same e-mail address as line 2; put all of a subscriber's topics on one \
                 row, separated by ';'"
            ),
        ]
    );
}

#[test]
fn a_bad_row_does_not_count_as_an_earlier_occurrence() {
    let input = "phone,email,topics\n0612345678,,Bad\n0612345678,,crue\n";
    let parse = parse_subscribers_csv(input);
    assert_eq!(parse.rows.len(), 1);
    assert_eq!(parse.rows[0].line, 3);
    assert_eq!(lines_of(&parse.errors), [(2, Some("topics"))]);
}

#[test]
fn a_missing_column_is_one_error_on_line_1() {
    let parse = parse_subscribers_csv("phone,topics\n0612345678,crue\n0611111111,crue\n");
    assert_eq!(parse.rows, []);
    assert_eq!(
        parse.errors,
        [error(
            1,
            None,
            "the first line must be the header phone,email,topics[,landline] (columns in any order): \
             missing email"
        )]
    );
}

#[test]
fn unknown_and_repeated_columns_are_refused() {
    let parse = parse_subscribers_csv("phone,mail,topics,phone\n");
    assert_eq!(
        parse.errors,
        [error(
            1,
            None,
            "the first line must be the header phone,email,topics[,landline] (columns in any order): \
             missing email; unknown \"mail\"; repeated phone"
        )]
    );
}

#[test]
fn a_data_line_instead_of_a_header_is_refused() {
    let parse = parse_subscribers_csv("0612345678,jean@mairie.fr,crue\n");
    assert_eq!(parse.errors.len(), 1);
    assert!(
        parse.errors[0]
            .reason
            .contains("missing phone, email, topics"),
        "{parse:?}"
    );
}

#[test]
fn semicolon_separated_files_get_a_hint() {
    let parse = parse_subscribers_csv("phone;email;topics\n0612345678;;crue\n");
    assert_eq!(
        parse.errors,
        [error(
            1,
            None,
            "the header has a single column; columns must be separated by commas, not \
             semicolons: phone,email,topics[,landline]"
        )]
    );
}

#[test]
fn empty_files_are_refused() {
    for input in ["", "\u{FEFF}", "\n\r\n  \n"] {
        let parse = parse_subscribers_csv(input);
        assert_eq!(parse.errors.len(), 1, "{input:?}");
        assert_eq!(parse.errors[0].line, 1);
        assert!(parse.errors[0].reason.starts_with("the file is empty"));
    }
}

#[test]
fn a_header_alone_gives_nothing_to_import() {
    assert_eq!(
        parse_subscribers_csv("phone,email,topics\n"),
        ImportParse::default()
    );
}

#[test]
fn trailing_empty_cells_are_ignored_but_extra_values_are_not() {
    let input = "phone,email,topics,\n0612345678,,crue,\n0611111111,,crue,oops\n";
    let parse = parse_subscribers_csv(input);
    assert_eq!(parse.rows.len(), 1);
    assert_eq!(
        parse.errors,
        [error(
            3,
            None,
            "row has more values than the header has columns (phone,email,topics[,landline])"
        )]
    );
}

#[test]
fn short_rows_count_missing_cells_as_empty() {
    let parse = parse_subscribers_csv("phone,email,topics\n0612345678\n");
    assert_eq!(lines_of(&parse.errors), [(2, Some("topics"))]);
}

#[test]
fn reasons_do_not_repeat_personal_data() {
    let parse = parse_subscribers_csv(
        "phone,email,topics\n0612345678,jean@mairie.fr,crue\n0612345678,x@,crue\n",
    );
    for err in &parse.errors {
        assert!(!err.reason.contains("0612345678") && !err.reason.contains("612345678"));
        assert!(!err.reason.contains("jean") && !err.reason.contains("x@"));
    }
}
