//! Massenupload: staff lists as CSV (BOM, `;`, German headers and values) and Excel
//! (real date cells), the row report with lines and columns, the second upload of the
//! same file, dry runs, the limits, access, and the templates.

use crate::helpers::today_berlin;
use chrono::{Datelike, Months, NaiveDate};
use reqwest::{Response, StatusCode};
use serde_json::Value;

use crate::fixtures::{CompanyUser, InsertedCompany, company, company_user, contract};
use crate::helpers::{TestApp, assert_problem, count_where, pointers};

struct Employer {
    company: InsertedCompany,
    contract_id: String,
    admin: CompanyUser,
}

async fn employer(app: &TestApp) -> Employer {
    let company = company().insert(app).await;
    let contract_id = contract(&company).insert(app).await;
    let admin = company_user(app, &company, "admin").await;
    Employer {
        company,
        contract_id,
        admin,
    }
}

/// A start month every deadline allows: two months ahead, as `MM.JJJJ`.
fn start_month_german() -> String {
    let first = today_berlin().with_day(1).unwrap() + Months::new(2);
    first.format("%m.%Y").to_string()
}

fn start_month_first_day() -> NaiveDate {
    today_berlin().with_day(1).unwrap() + Months::new(2)
}

/// A staff list as a German spreadsheet program saves it: BOM, `;`, German headers and
/// values; line 5 has a bad postal code and birth date.
pub(crate) fn german_csv() -> Vec<u8> {
    let month = start_month_german();
    format!(
        "\u{feff}Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat\r\n\
         P-100;Herr;männlich;Jörg;Müller;05.10.1990;Königsplatz 1;34117;Kassel;DE;joerg.mueller@example.de;{month}\r\n\
         P-101;Frau;weiblich;Anna;Schmidt;14.02.1994;Wilhelmsstr. 2;34117;Kassel;;anna.schmidt@example.de;{month}\r\n\
         ;Frau;;Lena;Weiß;01.01.1985;Friedrichsplatz 8;34117;Kassel;DE;lena.weiss@example.de;{month}\r\n\
         P-103;Dr.;divers;Kim;Falsch;31.02.1990;Irgendwo 1;3411;Kassel;DE;kim@example.de;{month}\r\n"
    )
    .into_bytes()
}

async fn upload(
    app: &TestApp,
    token: &str,
    contract_id: &str,
    file_name: &str,
    bytes: Vec<u8>,
    query: &str,
) -> Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string());
    let form = reqwest::multipart::Form::new().part("file", part);
    app.client
        .post(app.url(&format!(
            "/api/v1/contracts/{contract_id}/bulk-uploads{query}"
        )))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn report(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn tickets(app: &TestApp, employer: &Employer) -> Value {
    let response = app
        .get(
            &format!(
                "/api/v1/contracts/{}/subscriptions?sort=last_name",
                employer.contract_id
            ),
            Some(employer.admin.access()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_german_csv_becomes_tickets_with_a_row_report_and_the_same_file_twice_creates_nothing() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let first = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "mitarbeitende.csv",
            german_csv(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(first["file_name"], "mitarbeitende.csv");
    assert_eq!(first["dry_run"], false);
    assert_eq!(
        first["rows"],
        serde_json::json!({"total": 4, "created": 3, "unchanged": 0, "rejected": 1})
    );
    // Every error of the row, each naming the column as the file's header wrote it.
    let mut errors: Vec<(u64, String, String, String)> = first["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["header"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    errors.sort();
    let expected = [
        (5, "birth_date", "Geburtsdatum", "invalid_date"),
        (5, "postal_code", "PLZ", "invalid_postal_code"),
        (5, "salutation", "Anrede", "invalid_choice"),
    ]
    .map(|(row, column, header, code)| (row, column.into(), header.into(), code.into()));
    assert_eq!(errors, expected);
    let salutation = first["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["column"] == "salutation")
        .unwrap();
    // The closed set, named (German by default).
    assert_eq!(
        salutation["detail"],
        "Erlaubt sind: Herr, Frau, keine Angabe, mr, ms, none."
    );
    assert_eq!(first["created_by"]["id"], employer.admin.account.id);

    let list = tickets(&app, &employer).await;
    assert_eq!(list["total"], 3);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Müller", "Schmidt", "Weiß"]);
    let muller = &list["items"][0];
    assert_eq!(muller["personnel_number"], "P-100");
    assert_eq!(muller["status"], "active");
    assert_eq!(muller["linked"], false);
    assert_eq!(muller["valid_from"], start_month_first_day().to_string());
    // Each employee hears of their ticket, with its number and the way to link it.
    let mail = app.mail.wait_for("joerg.mueller@example.de", 1).await;
    assert!(
        mail.text
            .contains(muller["contract_number"].as_str().unwrap())
    );
    assert!(mail.text.contains("https://portal.test/register"));
    app.mail.wait_for("lena.weiss@example.de", 1).await;
    assert_eq!(
        count_where(&app, "consent_changes", "source = 'bulk_upload'").await,
        3
    );
    // Every ticket of the list is a Deutschlandticket Job, whatever the contract's
    // billing offering is called.
    assert_eq!(
        count_where(&app, "subscriptions", "product = 'Deutschlandticket Job'").await,
        3
    );

    let second = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "mitarbeitende.csv",
            german_csv(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(
        second["rows"],
        serde_json::json!({"total": 4, "created": 0, "unchanged": 3, "rejected": 1})
    );
    assert_eq!(tickets(&app, &employer).await["total"], 3);
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 3);
    app.mail
        .assert_count_settles("joerg.mueller@example.de", 1)
        .await;

    // Both reports are kept, newest first, and readable one by one.
    let reports = app
        .get(
            &format!("/api/v1/contracts/{}/bulk-uploads", employer.contract_id),
            Some(employer.admin.access()),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(reports["total"], 2);
    assert_eq!(reports["items"][0]["id"], second["id"]);
    let one = app
        .get(
            &format!(
                "/api/v1/contracts/{}/bulk-uploads/{}",
                employer.contract_id,
                first["id"].as_str().unwrap()
            ),
            Some(employer.admin.access()),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(one["rows"]["created"], 3);
    assert_eq!(one["errors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_excel_list_with_english_headers_and_real_date_cells_is_read_by_its_content() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    let headers = [
        "first_name",
        "last_name",
        "salutation",
        "birth_date",
        "street",
        "postal_code",
        "city",
        "email",
        "start_month",
        "personnel_number",
    ];
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    let start = start_month_first_day();
    let excel_date = |date: NaiveDate| {
        rust_xlsxwriter::ExcelDateTime::from_ymd(
            date.year() as u16,
            date.month() as u8,
            date.day() as u8,
        )
        .unwrap()
    };
    for (row, (first, last, personnel)) in [("Max", "Excel", 4711.0), ("Erika", "Tabelle", 4712.0)]
        .iter()
        .enumerate()
    {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, *first).unwrap();
        sheet.write_string(row, 1, *last).unwrap();
        sheet.write_string(row, 2, "mr").unwrap();
        sheet
            .write_datetime_with_format(
                row,
                3,
                excel_date(NaiveDate::from_ymd_opt(1988, 3, 9).unwrap()),
                &date_format,
            )
            .unwrap();
        sheet.write_string(row, 4, "Königsplatz 1").unwrap();
        sheet.write_number(row, 5, 34117.0).unwrap();
        sheet.write_string(row, 6, "Kassel").unwrap();
        sheet
            .write_string(row, 7, format!("{}@example.de", first.to_lowercase()))
            .unwrap();
        sheet
            .write_datetime_with_format(row, 8, excel_date(start), &date_format)
            .unwrap();
        sheet.write_number(row, 9, *personnel).unwrap();
    }
    // A row with an unknown salutation: sheet row 4.
    sheet.write_string(3, 0, "Ohne").unwrap();
    sheet.write_string(3, 1, "Anrede").unwrap();
    sheet.write_string(3, 2, "Dr.").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    // The name says CSV; the content is Excel.
    let report = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "liste.csv",
            bytes,
            "",
        )
        .await,
    )
    .await;
    assert_eq!(report["rows"]["created"], 2, "{report}");
    assert_eq!(report["rows"]["rejected"], 1);
    let rejected: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["column"].as_str().unwrap()))
        .collect();
    assert!(rejected.contains(&(4, "salutation")), "{rejected:?}");
    let list = tickets(&app, &employer).await;
    let first = &list["items"][0];
    assert_eq!(first["last_name"], "Excel");
    assert_eq!(first["personnel_number"], "4711");
    assert_eq!(first["valid_from"], start.to_string());
}

#[tokio::test]
async fn the_same_list_uploaded_twice_at_once_creates_its_tickets_once() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let answers = crate::helpers::release_together(&app, 2, |_| {
        let part = reqwest::multipart::Part::bytes(german_csv()).file_name("a.csv");
        let request = app
            .client
            .post(app.url(&format!(
                "/api/v1/contracts/{}/bulk-uploads",
                employer.contract_id
            )))
            .bearer_auth(employer.admin.access())
            .multipart(reqwest::multipart::Form::new().part("file", part));
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut created = Vec::new();
    for answer in answers {
        created.push(report(answer).await["rows"]["created"].as_i64().unwrap());
    }
    created.sort_unstable();
    assert_eq!(created, [0, 3]);
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 3);
}

#[tokio::test]
async fn a_list_for_a_contract_that_ended_conflicts_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let contract_id = employer.contract_id.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::company_contracts;
        diesel::update(company_contracts::table.find(contract_id))
            .set(company_contracts::status.eq("ended"))
            .execute(conn)
            .unwrap();
    })
    .await;
    let response = upload(
        &app,
        employer.admin.access(),
        &employer.contract_id,
        "a.csv",
        german_csv(),
        "",
    )
    .await;
    assert_problem(response, StatusCode::CONFLICT, "contract_not_active").await;
    assert_eq!(count_where(&app, "bulk_uploads", "1 = 1").await, 0);
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
}

#[tokio::test]
async fn a_dry_run_reports_the_same_and_changes_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let dry = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "mitarbeitende.csv",
            german_csv(),
            "?dry_run=true",
        )
        .await,
    )
    .await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(
        dry["rows"],
        serde_json::json!({"total": 4, "created": 3, "unchanged": 0, "rejected": 1})
    );
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 0);
    assert_eq!(count_where(&app, "email_outbox", "1 = 1").await, 0);
    app.mail
        .assert_count_settles("joerg.mueller@example.de", 0)
        .await;
}

#[tokio::test]
async fn a_row_with_a_known_holders_facts_gets_a_new_record_and_names_its_upload() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let known = crate::fixtures::subscription().insert(&app).await; // Musterjobber 2000-10-05 34117
    let known_record = format!(
        "id = '{}' AND first_name = 'Max' AND street = 'Artilleriestr. 39' AND marketing_consent = {}",
        known.customer_id,
        if app.database.is_postgres() {
            "false"
        } else {
            "0"
        }
    );
    assert_eq!(count_where(&app, "customers", &known_record).await, 1);
    let too_early = today_berlin().format("%m.%Y").to_string();
    // A list names Max's last name, birth date and postal code, with another address.
    let csv = format!(
        "first_name,last_name,salutation,birth_date,street,postal_code,city,email,start_month\n\
         Max,MUSTERJOBBER,mr,2000-10-05,Listenweg 1,34117,Kassel,someone@example.de,{}\n\
         Eva,Früh,ms,1999-01-01,Weg 1,34117,Kassel,eva@example.de,{too_early}\n",
        start_month_german()
    );
    let report = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "a.csv",
            csv.into_bytes(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(report["rows"]["created"], 1);
    assert_eq!(report["errors"][0]["row"], 3);
    assert_eq!(report["errors"][0]["column"], "start_month");
    assert_eq!(report["errors"][0]["code"], "month_too_early");
    let upload_id = report["id"].as_str().unwrap();
    // A new record for the row; Max's stays his, untouched, with its one ticket.
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 2);
    assert_eq!(count_where(&app, "customers", &known_record).await, 1);
    assert_eq!(
        count_where(
            &app,
            "consent_changes",
            &format!("customer_id = '{}'", known.customer_id)
        )
        .await,
        1
    );
    assert_eq!(
        count_where(
            &app,
            "subscriptions",
            &format!("customer_id = '{}'", known.customer_id)
        )
        .await,
        1
    );
    // The ticket names its upload, and the operator sees it.
    assert_eq!(
        count_where(
            &app,
            "subscriptions",
            &format!(
                "company_contract_id = '{}' AND bulk_upload_id = '{upload_id}' \
                 AND customer_id <> '{}'",
                employer.contract_id, known.customer_id
            )
        )
        .await,
        1
    );
    let (_, operator) = crate::fixtures::operator(&app).await;
    let listed = app
        .get(
            &format!("/api/v1/admin/subscriptions?bulk_upload_id={upload_id}"),
            Some(&operator.access),
        )
        .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["bulk_upload_id"], upload_id);
    assert_eq!(
        listed["items"][0]["company_contract_id"],
        employer.contract_id
    );
}

#[tokio::test]
async fn size_row_type_and_column_limits_answer_their_problems_and_store_nothing() {
    let app = TestApp::builder()
        .set("BULK_UPLOAD_MAX_BYTES", "2000")
        .set("BULK_UPLOAD_MAX_ROWS", "3")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let token = employer.admin.access();
    let contract_id = &employer.contract_id;

    let mut big = german_csv();
    big.extend(std::iter::repeat_n(b' ', 2000));
    let response = upload(&app, token, contract_id, "big.csv", big, "").await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let response = upload(&app, token, contract_id, "many.csv", german_csv(), "").await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "too_many_rows").await;

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec();
    let response = upload(&app, token, contract_id, "list.xlsx", png, "").await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let response = upload(
        &app,
        token,
        contract_id,
        "short.csv",
        b"Vorname;Nachname;E-Mail\nMax;Muster;max@example.de\n".to_vec(),
        "",
    )
    .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_columns",
    )
    .await;
    let mut missing: Vec<String> = pointers(&problem).into_iter().map(|(p, _)| p).collect();
    missing.sort();
    assert_eq!(
        missing,
        [
            "/file/birth_date",
            "/file/city",
            "/file/postal_code",
            "/file/salutation",
            "/file/start_month",
            "/file/street"
        ]
    );

    // Not a form at all, and a form without its file.
    let response = app
        .request(
            reqwest::Method::POST,
            &format!("/api/v1/contracts/{contract_id}/bulk-uploads"),
            Some(token),
            Some(serde_json::json!({"file": "x"})),
        )
        .await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let form = reqwest::multipart::Form::new().text("note", "no file");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/contracts/{contract_id}/bulk-uploads")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/file".to_string(), "required".to_string())]
    );
    assert_eq!(count_where(&app, "bulk_uploads", "1 = 1").await, 0);
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
}

#[tokio::test]
async fn members_read_reports_only_and_other_companies_see_nothing() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let uploaded = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "a.csv",
            german_csv(),
            "?dry_run=true",
        )
        .await,
    )
    .await;
    let member = company_user(&app, &employer.company, "member").await;
    let response = upload(
        &app,
        member.access(),
        &employer.contract_id,
        "a.csv",
        german_csv(),
        "",
    )
    .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    let read = app
        .get(
            &format!("/api/v1/contracts/{}/bulk-uploads", employer.contract_id),
            Some(member.access()),
        )
        .await;
    assert_eq!(read.status(), StatusCode::OK);

    let stranger = company_user(&app, &company().insert(&app).await, "admin").await;
    let response = upload(
        &app,
        stranger.access(),
        &employer.contract_id,
        "a.csv",
        german_csv(),
        "",
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    for path in [
        format!("/api/v1/contracts/{}/bulk-uploads", employer.contract_id),
        format!(
            "/api/v1/contracts/{}/bulk-uploads/{}",
            employer.contract_id,
            uploaded["id"].as_str().unwrap()
        ),
    ] {
        let response = app.get(&path, Some(stranger.access())).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // The report under another contract of the same company is not found either.
    let other_contract = contract(&employer.company).insert(&app).await;
    let response = app
        .get(
            &format!(
                "/api/v1/contracts/{other_contract}/bulk-uploads/{}",
                uploaded["id"].as_str().unwrap()
            ),
            Some(employer.admin.access()),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_templates_carry_every_column_and_the_filled_csv_template_uploads() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let csv = app.get("/api/v1/bulk-uploads/template.csv", None).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let mut template = csv.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(template.clone()).unwrap();
    assert_eq!(
        text.trim_start_matches('\u{feff}').trim_end(),
        "Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat"
    );
    let month = start_month_german();
    for (i, name) in ["Eins", "Zwei", "Drei"].iter().enumerate() {
        template.extend(
            format!(
                "T-{i};Frau;weiblich;Ida;{name};0{}.03.1990;Ring {i};34119;Kassel;DE;ida.{i}@example.de;{month}\r\n",
                i + 1
            )
            .into_bytes(),
        );
    }
    let filled = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "vorlage.csv",
            template,
            "",
        )
        .await,
    )
    .await;
    assert_eq!(filled["rows"]["created"], 3, "{filled}");

    let xlsx = app.get("/api/v1/bulk-uploads/template.xlsx", None).await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.bytes().await.unwrap().to_vec();
    // The empty Excel template is a valid list of no rows.
    let empty = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "vorlage.xlsx",
            bytes,
            "",
        )
        .await,
    )
    .await;
    assert_eq!(
        empty["rows"],
        serde_json::json!({"total": 0, "created": 0, "unchanged": 0, "rejected": 0})
    );
}

/// An `.xlsx` of the given worksheet XML (cells as inline strings) and further parts.
fn xlsx(sheet: &str, parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let fixed: [(&str, &str); 4] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Liste" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
    ];
    for (name, content) in fixed {
        zip.start_file(name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
    zip.write_all(
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet}</sheetData></worksheet>"#
        )
        .as_bytes(),
    )
    .unwrap();
    for (name, content) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    buffer.into_inner()
}

/// A sheet row of inline-string cells at the given references.
fn sheet_row(row: u32, cells: &[(&str, &str)]) -> String {
    let cells: String = cells
        .iter()
        .map(|(reference, text)| {
            format!(r#"<c r="{reference}" t="inlineStr"><is><t>{text}</t></is></c>"#)
        })
        .collect();
    format!(r#"<row r="{row}">{cells}</row>"#)
}

/// The template's twelve German headers in A1 to L1.
fn header_row() -> String {
    let headers = [
        "Personalnummer",
        "Anrede",
        "Geschlecht",
        "Vorname",
        "Nachname",
        "Geburtsdatum",
        "Straße",
        "PLZ",
        "Ort",
        "Land",
        "E-Mail",
        "Startmonat",
    ];
    let references: Vec<String> = ('A'..='L').map(|c| format!("{c}1")).collect();
    let cells: Vec<(&str, &str)> = references.iter().map(String::as_str).zip(headers).collect();
    sheet_row(1, &cells)
}

#[tokio::test]
async fn hostile_files_answer_at_once_and_nothing_is_sized_by_their_claims() {
    let app = TestApp::builder()
        .set("BULK_UPLOAD_MAX_UNCOMPRESSED_BYTES", &(4 << 20).to_string())
        .spawn()
        .await;
    let employer = employer(&app).await;
    let (token, contract_id) = (employer.admin.access(), employer.contract_id.as_str());

    // One cell at A1 and one at XFD1048576: a grid between them would be 17 billion cells.
    let far = xlsx(
        &format!(
            "{}{}",
            sheet_row(1, &[("A1", "Vorname")]),
            sheet_row(1_048_576, &[("XFD1048576", "x")])
        ),
        &[],
    );
    assert!(far.len() < 5_000);
    let response = upload(&app, token, contract_id, "weit.xlsx", far, "").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_columns",
    )
    .await;

    // The header, then one cell at Z1048576: one row, reported by its number.
    let deep = xlsx(
        &format!(
            "{}{}",
            header_row(),
            sheet_row(1_048_576, &[("Z1048576", "x")])
        ),
        &[],
    );
    let deep = report(upload(&app, token, contract_id, "tief.xlsx", deep, "").await).await;
    assert_eq!(deep["rows"]["total"], 1);
    assert_eq!(deep["rows"]["rejected"], 1);
    assert_eq!(deep["errors"][0]["row"], 1_048_576);

    // A sheet padded to unpack beyond the limit (a zip bomb, small as a file).
    let bomb = xlsx(&format!("{}{}", header_row(), " ".repeat(5 << 20)), &[]);
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    let response = upload(&app, token, contract_id, "bombe.xlsx", bomb, "").await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Shared strings that claim a trillion entries (calamine would reserve them).
    let claim = xlsx(
        &header_row(),
        &[(
            "xl/sharedStrings.xml",
            br#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="1000000000000"><si><t>x</t></si></sst>"#.to_vec(),
        )],
    );
    let response = upload(&app, token, contract_id, "strings.xlsx", claim, "").await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    // Millions of one-character lines stop at the row limit; 65 columns at the column one.
    let header = String::from_utf8(
        app.get("/api/v1/bulk-uploads/template.csv", None)
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    let flood = format!("{header}{}", "x\n".repeat(2_000_000));
    let response = upload(&app, token, contract_id, "flut.csv", flood.into_bytes(), "").await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, "too_many_rows").await;
    let wide = format!("{header}{}x\n", "y;".repeat(64));
    let response = upload(&app, token, contract_id, "breit.csv", wide.into_bytes(), "").await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_columns",
    )
    .await;

    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
    assert_eq!(count_where(&app, "bulk_uploads", "1 = 1").await, 1);
}

/// A slow client's staff list: the request head and the form's first 100 bytes are sent,
/// the rest waits for [`SlowUpload::finish`].
pub(crate) struct SlowUpload {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
}

impl SlowUpload {
    /// Starts the upload, with a bearer `token` if any and `headers` (`Name: value\r\n`
    /// lines) besides.
    pub(crate) async fn start(
        app: &TestApp,
        token: Option<&str>,
        contract_id: &str,
        headers: &str,
    ) -> SlowUpload {
        use tokio::io::AsyncWriteExt;
        let boundary = "grenze";
        let body = [
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"langsam.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .into_bytes(),
            german_csv(),
            format!("\r\n--{boundary}--\r\n").into_bytes(),
        ]
        .concat();
        let authorization = token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST /api/v1/contracts/{contract_id}/bulk-uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             {authorization}{headers}Content-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let address = app.address.trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&body[..100]).await.unwrap();
        SlowUpload {
            stream,
            rest: body[100..].to_vec(),
        }
    }

    /// The answer's head, read without sending the rest of the form.
    pub(crate) async fn answer_unsent(mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = self.stream.read(&mut chunk).await.unwrap();
            assert!(read > 0, "closed without an answer");
            answer.extend_from_slice(&chunk[..read]);
        }
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Sends the rest and reads the answer.
    pub(crate) async fn finish(mut self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(&self.rest).await.unwrap();
        let mut answer = String::new();
        self.stream.read_to_string(&mut answer).await.unwrap();
        answer
    }
}

/// Waits until every upload place is taken.
pub(crate) async fn wait_until_no_place_is_free(app: &TestApp) {
    for _ in 0..100 {
        if app.state.uploads.available() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("a place is still free");
}

#[tokio::test]
async fn uploads_beyond_the_readers_and_their_queue_are_refused_as_busy_until_one_is_done() {
    let app = TestApp::builder()
        .set("BULK_UPLOAD_CONCURRENCY", "1")
        .set("BULK_UPLOAD_QUEUE", "0")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let (token, contract_id) = (employer.admin.access(), employer.contract_id.as_str());
    // A slow client holds the only place.
    let slow = SlowUpload::start(&app, Some(token), contract_id, "").await;
    wait_until_no_place_is_free(&app).await;

    let refused = upload(&app, token, contract_id, "schnell.csv", german_csv(), "").await;
    assert!(crate::helpers::retry_after(&refused) >= 1);
    assert_problem(refused, StatusCode::SERVICE_UNAVAILABLE, "service_busy").await;

    let answer = slow.finish().await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let again = upload(&app, token, contract_id, "schnell.csv", german_csv(), "").await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_list_skips_the_numbers_an_operator_gave_records_by_hand() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    // The operator's own records took JT-00000002 and KJ-00000001 before the portal did.
    let mut by_hand = crate::fixtures::subscription();
    by_hand.contract_number = "JT-00000002".into();
    let by_hand = by_hand.insert(&app).await;
    let customer_id = by_hand.customer_id.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::customers;
        diesel::update(customers::table.find(customer_id))
            .set(customers::customer_number.eq("KJ-00000001"))
            .execute(conn)
            .unwrap();
    })
    .await;
    let month = start_month_german();
    let csv = format!(
        "Vorname;Nachname;Anrede;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat\n\
         Tom;Eins;Herr;03.04.1991;Weg 1;34117;Kassel;eins@example.de;{month}\n\
         Uta;Zwei;Frau;17.08.1987;Weg 2;34117;Kassel;zwei@example.de;{month}\n\
         Vera;Drei;Frau;30.11.1979;Weg 3;34117;Kassel;drei@example.de;{month}\n"
    );
    let report = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "liste.csv",
            csv.into_bytes(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(report["rows"]["created"], 3);
    let contract_id = employer.contract_id.clone();
    let (mut tickets, mut customers): (Vec<String>, Vec<String>) = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::{customers, subscriptions};
            subscriptions::table
                .inner_join(customers::table)
                .filter(subscriptions::company_contract_id.eq(contract_id))
                .select((subscriptions::contract_number, customers::customer_number))
                .load::<(String, String)>(conn)
                .unwrap()
                .into_iter()
                .unzip()
        })
        .await;
    tickets.sort();
    customers.sort();
    assert_eq!(tickets, ["JT-00000001", "JT-00000003", "JT-00000004"]);
    assert_eq!(customers, ["KJ-00000002", "KJ-00000003", "KJ-00000004"]);
}

#[tokio::test]
async fn a_list_skips_hand_given_numbers_where_the_numbers_grow_a_digit() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    // The sequence stands two short of 100,000,000: the list's block runs from
    // JT-99999999 to JT-100000001, across a change of width, and the operator already
    // gave JT-100000000 by hand.
    let mut by_hand = crate::fixtures::subscription();
    by_hand.contract_number = "JT-100000000".into();
    by_hand.insert(&app).await;
    app.with_db(|conn| {
        use diesel::prelude::*;
        use firmenportal::schema::number_sequences;
        diesel::update(
            number_sequences::table
                .filter(number_sequences::name.eq("subscription_contract_number")),
        )
        .set(number_sequences::last_value.eq(99_999_998_i64))
        .execute(conn)
        .unwrap();
    })
    .await;
    let month = start_month_german();
    let csv = format!(
        "Vorname;Nachname;Anrede;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat\n\
         Tom;Eins;Herr;03.04.1991;Weg 1;34117;Kassel;eins@example.de;{month}\n\
         Uta;Zwei;Frau;17.08.1987;Weg 2;34117;Kassel;zwei@example.de;{month}\n\
         Vera;Drei;Frau;30.11.1979;Weg 3;34117;Kassel;drei@example.de;{month}\n"
    );
    let report = report(
        upload(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            "liste.csv",
            csv.into_bytes(),
            "",
        )
        .await,
    )
    .await;
    assert_eq!(report["rows"]["created"], 3);
    let contract_id = employer.contract_id.clone();
    let mut tickets: Vec<String> = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::subscriptions;
            subscriptions::table
                .filter(subscriptions::company_contract_id.eq(contract_id))
                .select(subscriptions::contract_number)
                .load::<String>(conn)
                .unwrap()
        })
        .await;
    tickets.sort();
    assert_eq!(tickets, ["JT-100000001", "JT-100000002", "JT-99999999"]);
}
