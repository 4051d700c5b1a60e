//! Writes the files of `bench/orders.sh`: one staff list of ROWS employees as CSV
//! (German headers, `;`, BOM) and as Excel (real date cells), and the very same people as
//! the operator's import files (customers.csv, subscriptions.csv under another
//! contract), so the upload and `firmenportal import` load the same rows. Beside them
//! three hostile lists, each small as a file: an Excel sheet with one cell at A1 and one
//! at XFD1048576 (far.xlsx), one at A1 and one at Z1048576 (deep.xlsx), and a 5 MB CSV of
//! one-character lines (flood.csv).
//!
//!   cargo bench --bench staff_list -- DIR ROWS START_MONTH(YYYY-MM)

use std::io::Write;

use chrono::{Datelike, NaiveDate};

const LAST: [&str; 12] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
];
const FIRST: [&str; 8] = [
    "Max", "Erika", "Jürgen", "Aylin", "Lena", "Paul", "Mia", "Jonas",
];

/// A name part for every index, since names hold no digits: 0 → "Aaa", 1 → "Aab", ….
fn letters(mut i: usize) -> String {
    let mut word = Vec::new();
    for _ in 0..4 {
        word.push(b'a' + (i % 26) as u8);
        i /= 26;
    }
    word[3] = word[3].to_ascii_uppercase();
    word.reverse();
    String::from_utf8(word).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [dir, rows, start] = args.as_slice() else {
        eprintln!("usage: cargo bench --bench staff_list -- DIR ROWS START_MONTH");
        std::process::exit(2);
    };
    let rows: usize = rows.parse().expect("ROWS");
    let start = NaiveDate::parse_from_str(&format!("{start}-01"), "%Y-%m-%d").expect("START_MONTH");
    let dir = std::path::Path::new(dir);
    let person = |i: usize| {
        let birth = NaiveDate::from_ymd_opt(1960, 1, 1).unwrap()
            + chrono::Days::new((i * 7 % 15000) as u64);
        (
            FIRST[i % FIRST.len()],
            format!("{}-{}", LAST[i % LAST.len()], letters(i)),
            birth,
        )
    };

    let mut csv = std::fs::File::create(dir.join("staff.csv")).unwrap();
    write!(csv, "\u{feff}Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat\r\n").unwrap();
    for i in 0..rows {
        let (first, last, birth) = person(i);
        write!(
            csv,
            "P-{i};Herr;männlich;{first};{last};{};Ständeplatz {};34117;Kassel;DE;mitarbeiter{i}@example.de;{}\r\n",
            birth.format("%d.%m.%Y"),
            i % 200 + 1,
            start.format("%m.%Y")
        )
        .unwrap();
    }

    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let dates = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
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
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    let excel = |d: NaiveDate| {
        rust_xlsxwriter::ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
            .unwrap()
    };
    for i in 0..rows {
        let (first, last, birth) = person(i);
        let row = i as u32 + 1;
        sheet.write_string(row, 0, format!("X-{i}")).unwrap();
        sheet.write_string(row, 1, "Frau").unwrap();
        sheet.write_string(row, 2, "weiblich").unwrap();
        sheet.write_string(row, 3, first).unwrap();
        sheet.write_string(row, 4, &last).unwrap();
        sheet
            .write_datetime_with_format(row, 5, excel(birth), &dates)
            .unwrap();
        sheet
            .write_string(row, 6, format!("Ständeplatz {}", i % 200 + 1))
            .unwrap();
        sheet.write_number(row, 7, 34119.0).unwrap();
        sheet.write_string(row, 8, "Kassel").unwrap();
        sheet.write_string(row, 9, "DE").unwrap();
        sheet
            .write_string(row, 10, format!("kollegin{i}@example.de"))
            .unwrap();
        sheet
            .write_datetime_with_format(row, 11, excel(start), &dates)
            .unwrap();
    }
    workbook.save(dir.join("staff.xlsx")).unwrap();

    // The hostile lists: read as a grid or whole, each would cost gigabytes.
    for (name, row, col) in [
        ("far.xlsx", 1_048_575, 16_383),
        ("deep.xlsx", 1_048_575, 25),
    ] {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "Vorname").unwrap();
        sheet.write_string(row, col, "x").unwrap();
        workbook.save(dir.join(name)).unwrap();
    }
    let mut flood = std::io::BufWriter::new(std::fs::File::create(dir.join("flood.csv")).unwrap());
    let header = "Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat\n";
    flood.write_all(header.as_bytes()).unwrap();
    for _ in 0..(5_000_000 - header.len()) / 2 {
        flood.write_all(b"x\n").unwrap();
    }
    flood.flush().unwrap();

    // The same people for the operator's import (postal code 34121, so no customer is
    // shared with the uploads), each with one subscription under contract FV-IMPORT.
    let mut customers = std::fs::File::create(dir.join("customers.csv")).unwrap();
    writeln!(customers, "customer_number,salutation,gender,first_name,last_name,birth_date,address_street,address_postal_code,address_city,address_country,marketing_consent,recorded_at").unwrap();
    let mut subscriptions = std::fs::File::create(dir.join("subscriptions.csv")).unwrap();
    writeln!(
        subscriptions,
        "contract_number,product,valid_from,status,customer_number,company_contract_number"
    )
    .unwrap();
    for i in 0..rows {
        let (first, last, birth) = person(i);
        writeln!(
            customers,
            "IMP-{i},mr,male,{first},{last},{birth},Ständeplatz {},34121,Kassel,DE,false,2026-01-01",
            i % 200 + 1
        )
        .unwrap();
        writeln!(
            subscriptions,
            "IMP-T-{i},D-Ticket Job (Rechnung),{start},active,IMP-{i},FV-IMPORT"
        )
        .unwrap();
    }
}
