//! `firmenportal import`: CSV in, upsert by natural key, a report of every row.

use firmenportal::import::{ImportKind, ImportOptions, ImportReport, import};

use crate::helpers::{TestApp, count_rows, count_where};

async fn run(app: &TestApp, kind: ImportKind, csv: &str, dry_run: bool) -> ImportReport {
    import(&app.db, kind, csv.as_bytes(), ImportOptions { dry_run })
        .await
        .expect("import runs")
}

const COMPANIES: &str = "\u{feff}customer_number;name;address_street;address_postal_code;address_city;address_country;contact_email\n\
K-1;Musterfirma GmbH;Ständeplatz 17;34117;Kassel;DE;personal@musterfirma.de\n\
K-2;Beta AG;Weg 2;10115;Berlin;de;\n";
const CONTRACTS: &str = "contract_number,company_customer_number,product_offering,status,valid_from,valid_to\n\
FV-1,k-1,D-Ticket Job (Rechnung),active,01.01.2023,\n\
FV-2,K-2,D-Ticket Job (Rechnung),cancelled,2024-01-01,31.12.2026\n";
const CUSTOMERS: &str = "customer_number,salutation,gender,first_name,last_name,birth_date,address_street,address_postal_code,address_city,address_country,phone,marketing_consent,recorded_at\n\
KD-1,mr,male,Max,Musterjobber,05.10.2000,Artilleriestr. 39,34117,Kassel,DE,0561 1234567,nein,22.10.2024\n\
KD-2,ms,female,Erika,Musterfrau,1985-03-14,Allee 1,34119,Kassel,DE,,ja,2024-01-15\n";
const SUBSCRIPTIONS: &str = "contract_number,subscription_number,chip_card_number,product,valid_from,valid_to,status,customer_number,company_contract_number\n\
431177,,,Deutschlandticket Job,01.05.2023,,active,KD-1,FV-1\n\
398812,A-1,,Deutschlandticket Job,2022-01-01,2023-04-30,ended,KD-1,FV-2\n\
431178,,9276 0012,Deutschlandticket Job,2024-02-01,,active,KD-2,\n";

async fn load_all(app: &TestApp) -> Vec<ImportReport> {
    let mut reports = Vec::new();
    for (kind, csv) in [
        (ImportKind::Companies, COMPANIES),
        (ImportKind::Contracts, CONTRACTS),
        (ImportKind::Customers, CUSTOMERS),
        (ImportKind::Subscriptions, SUBSCRIPTIONS),
    ] {
        reports.push(run(app, kind, csv, false).await);
    }
    reports
}

#[tokio::test]
async fn importing_the_same_files_twice_changes_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    let first = load_all(&app).await;
    let created: Vec<usize> = first.iter().map(|r| r.created).collect();
    assert_eq!(created, [2, 2, 2, 3]);
    assert!(first.iter().all(|r| r.rejected() == 0), "{first:?}");
    assert_eq!(
        count_where(&app, "consent_changes", "source = 'import'").await,
        2
    );
    let audit_before = count_rows(&app, "audit_log").await;

    let second = load_all(&app).await;
    let unchanged: Vec<usize> = second.iter().map(|r| r.unchanged).collect();
    assert_eq!(unchanged, [2, 2, 2, 3]);
    assert!(second.iter().all(|r| r.created == 0 && r.updated == 0));
    for (table, rows) in [
        ("companies", 2),
        ("company_contracts", 2),
        ("customers", 2),
        ("subscriptions", 3),
        ("consent_changes", 2),
    ] {
        assert_eq!(count_rows(&app, table).await, rows, "{table}");
    }
    assert_eq!(count_rows(&app, "audit_log").await, audit_before);
    // Stored canonically: numbers without spaces, phones in E.164, dates as dates.
    assert_eq!(
        count_where(&app, "subscriptions", "chip_card_number = '92760012'").await,
        1
    );
    assert_eq!(
        count_where(&app, "customers", "phone = '+495611234567'").await,
        1
    );
    assert_eq!(
        count_where(
            &app,
            "companies",
            "country = 'DE' AND customer_number = 'K-2'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_changed_row_is_updated_and_its_consent_change_recorded() {
    let app = TestApp::spawn().await;
    load_all(&app).await;
    let changed = CUSTOMERS.replace("0561 1234567,nein", "0561 7654321,ja");
    let report = run(&app, ImportKind::Customers, &changed, false).await;
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 1, 1)
    );
    assert_eq!(
        count_where(
            &app,
            "customers",
            "phone = '+495617654321' AND marketing_consent"
        )
        .await,
        1
    );
    assert_eq!(
        count_where(&app, "consent_changes", "source = 'import'").await,
        3
    );
}

#[tokio::test]
async fn rejected_rows_name_line_column_and_reason_and_the_rest_is_applied() {
    let app = TestApp::spawn().await;
    load_all(&app).await;
    let csv = "contract_number;subscription_number;product;valid_from;valid_to;status;customer_number;company_contract_number\n\
500001;;Deutschlandticket Job;01.02.2024;;active;KD-1;FV-1\n\
500002;A-1;Deutschlandticket Job;2024-01-01;;active;KD-2;\n\
500003;;Deutschlandticket Job;2024-01-01;2023-01-01;aktiv;KD-9;FV-9\n\
500004;;Deutschlandticket Job;30.02.2024;;active;KD-2;\n";
    let report = run(&app, ImportKind::Subscriptions, csv, false).await;
    assert_eq!(report.created, 1);
    assert_eq!(report.rejected(), 3);
    let rejected: Vec<(u64, &str)> = report
        .rejected_rows
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(
        rejected,
        [
            (3, "subscription_number"),
            (4, "valid_to"),
            (4, "status"),
            (4, "customer_number"),
            (4, "company_contract_number"),
            (5, "valid_from"),
        ]
    );
    assert!(report.rejected_rows.iter().all(|r| !r.reason.is_empty()));
    let printed = report.to_string();
    assert!(printed.contains("line 4: column valid_to:"), "{printed}");
    assert!(
        printed.ends_with("created 1, updated 0, unchanged 0, rejected 3\n"),
        "{printed}"
    );
    assert_eq!(count_rows(&app, "subscriptions").await, 4);
}

#[tokio::test]
async fn a_dry_run_reports_what_would_happen_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let report = run(&app, ImportKind::Companies, COMPANIES, true).await;
    assert_eq!((report.created, report.rejected()), (2, 0));
    assert_eq!(count_rows(&app, "companies").await, 0);
    assert_eq!(count_rows(&app, "audit_log").await, 0);
}

#[tokio::test]
async fn an_unknown_column_or_a_broken_file_imports_nothing() {
    let app = TestApp::spawn().await;
    let unknown = "customer_number,name,fax\nK-1,Alpha,0561\n";
    let error = import(
        &app.db,
        ImportKind::Companies,
        unknown.as_bytes(),
        ImportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        error.to_string().contains("unknown column \"fax\""),
        "{error}"
    );
    let ragged = "customer_number,name\nK-1,Alpha\nK-2,Beta,zu viel\n";
    let error = import(
        &app.db,
        ImportKind::Companies,
        ragged.as_bytes(),
        ImportOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().starts_with("line 3"), "{error}");
    assert_eq!(count_rows(&app, "companies").await, 0);
}

#[tokio::test]
async fn a_file_of_several_batches_is_applied_whole_with_every_refused_row_reported() {
    let app = TestApp::spawn().await;
    load_all(&app).await;
    // 1,200 customers and 2,500 subscriptions: three batches of subscriptions, each
    // parsed while the one before is written.
    let mut customers = String::from(
        "customer_number,salutation,gender,first_name,last_name,birth_date,address_street,address_postal_code,address_city,address_country,marketing_consent,recorded_at\n",
    );
    for i in 0..1200 {
        customers.push_str(&format!(
            "KD-{},ms,female,Erika,Müller,1980-01-01,Allee {i},34117,Kassel,DE,ja,2024-10-22\n",
            1000 + i
        ));
    }
    let report = run(&app, ImportKind::Customers, &customers, false).await;
    assert_eq!((report.created, report.rejected()), (1200, 0));
    assert_eq!(
        count_where(&app, "consent_changes", "source = 'import'").await,
        2 + 1200
    );

    let mut subscriptions = String::from(
        "contract_number,chip_card_number,product,valid_from,status,customer_number\n",
    );
    for i in 0..2500u64 {
        // Row 1500 does not parse; row 2200 repeats row 0's chip card in a later batch,
        // which only the database's unique index can refuse.
        let chip = 7_000_000_000 + if i == 2200 { 0 } else { i };
        let valid_from = if i == 1500 {
            "31.02.2024"
        } else {
            "2024-01-01"
        };
        subscriptions.push_str(&format!(
            "{},{chip},Deutschlandticket Job,{valid_from},active,KD-{}\n",
            600_000 + i,
            1000 + i % 1200
        ));
    }
    let report = run(&app, ImportKind::Subscriptions, &subscriptions, false).await;
    let refused: Vec<(u64, &str)> = report
        .rejected_rows
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    // The header is line 1: row i is on line i + 2.
    assert_eq!(refused, [(1502, "valid_from"), (2202, "chip_card_number")]);
    assert_eq!(report.created, 2498);
    assert_eq!(count_rows(&app, "subscriptions").await, 3 + 2498);
    assert_eq!(
        count_where(&app, "subscriptions", "chip_card_number = '7000000000'").await,
        1
    );

    let again = run(&app, ImportKind::Subscriptions, &subscriptions, false).await;
    assert_eq!(
        (
            again.created,
            again.updated,
            again.unchanged,
            again.rejected()
        ),
        (0, 0, 2498, 2)
    );
}

#[tokio::test]
async fn a_row_reports_every_bad_value_and_names_the_allowed_set() {
    let app = TestApp::spawn().await;
    // German values as staff lists take them; then a row with four bad values.
    let csv = "customer_number;salutation;gender;first_name;last_name;birth_date;address_street;address_postal_code;address_city;address_country;marketing_consent\n\
KD-7;Herr;männlich;Jörg;Müller;01.02.1980;Weg 1;34117;Kassel;DE;ja\n\
KD-8;Dr.;weiblich;Anna;Acht;1980-02-30;Weg 2;3411;Kassel;DE;vielleicht\n";
    let report = run(&app, ImportKind::Customers, csv, false).await;
    assert_eq!((report.created, report.rejected()), (1, 1), "{report}");
    let mut rejected: Vec<(u64, &str, &str)> = report
        .rejected_rows
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.reason.as_str()))
        .collect();
    rejected.sort();
    assert_eq!(
        rejected,
        [
            (
                3,
                "address_postal_code",
                "Please enter a valid postal code (5 digits in Germany)."
            ),
            (
                3,
                "birth_date",
                "Please enter a valid date (YYYY-MM-DD or DD.MM.YYYY)."
            ),
            (
                3,
                "marketing_consent",
                "Allowed values: true, false, ja, nein, yes, no, 1, 0."
            ),
            (
                3,
                "salutation",
                "Allowed values: Herr, Frau, keine Angabe, mr, ms, none."
            ),
        ]
    );
    assert_eq!(
        count_where(
            &app,
            "customers",
            "customer_number = 'KD-7' AND salutation = 'mr' AND gender = 'male' AND marketing_consent"
        )
        .await,
        1
    );
    // The API names its own set too.
    let csv = "contract_number,company_customer_number,product_offering,status,valid_from\n\
FV-9,K-9,D-Ticket Job,aktiv,2024-01-01\n";
    let report = run(&app, ImportKind::Contracts, csv, true).await;
    let status = report
        .rejected_rows
        .iter()
        .find(|r| r.column == "status")
        .expect("status reported");
    assert_eq!(status.reason, "Allowed values: active, cancelled, ended.");
}

/// Runs the binary on the test's database, off the test's runtime; returns (exit code,
/// stdout, stderr).
async fn command(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"));
    command
        .args(args)
        .env("DATABASE_URL", &app.database.url)
        .env("DATA_DIR", app.data_dir.path())
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("run firmenportal");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn the_command_prints_its_report_on_stdout_and_its_log_on_stderr_without_colours() {
    let app = TestApp::spawn().await;
    let file = app.data_dir.path().join("kunden.csv");
    std::fs::write(
        &file,
        "customer_number;salutation;gender;first_name;last_name;birth_date;address_street;address_postal_code;address_city;address_country;marketing_consent\n\
KD-1;Frau;weiblich;Paula;Pendler;12.03.1988;Weg 1;34117;Kassel;DE;ja\n\
KD-2;Dr.;weiblich;Anna;Acht;1980-02-01;Weg 2;34117;Kassel;DE;nein\n",
    )
    .unwrap();
    let (code, stdout, stderr) =
        command(&app, &["import", "customers", file.to_str().unwrap()]).await;
    assert_eq!(code, 1, "a rejected row: exit 1\n{stdout}\n{stderr}");
    assert_eq!(
        stdout,
        "line 3: column salutation: Allowed values: Herr, Frau, keine Angabe, mr, ms, none.\n\
         created 1, updated 0, unchanged 0, rejected 1\n"
    );
    assert!(stderr.contains("migrations applied"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colours in a pipe: {stderr:?}"
    );
    assert!(
        !stderr.contains("salutation"),
        "said once, on stdout: {stderr}"
    );

    // A file that cannot be read: one message, on stderr.
    let (code, stdout, stderr) = command(&app, &["import", "customers", "/nonexistent.csv"]).await;
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(stderr.matches("/nonexistent.csv").count(), 1, "{stderr}");
}
