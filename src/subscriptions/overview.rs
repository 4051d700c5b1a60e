//! The Abo-Übersicht (guide step 11): a one-page PDF of a linked subscription with its
//! holder, in German or English. Written with krilla and the DejaVu Sans font compiled
//! in: krilla subsets the font and always writes a ToUnicode map, so umlauts and `ß`
//! come out of the text layer as they went in.

use std::sync::LazyLock;

use chrono::NaiveDate;
use krilla::Document;
use krilla::geom::Point;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};

use crate::customers::repo::CustomerData;
use crate::customers::types::Salutation;
use crate::domain::address::country_name;
use crate::domain::date::german;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::subscriptions::types::{Subscription, SubscriptionStatus};

static REGULAR: LazyLock<Option<Font>> = LazyLock::new(|| {
    Font::new(
        krilla::Data::from(&include_bytes!("../../assets/fonts/DejaVuSans.ttf")[..]),
        0,
    )
});
static BOLD: LazyLock<Option<Font>> = LazyLock::new(|| {
    Font::new(
        krilla::Data::from(&include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf")[..]),
        0,
    )
});

/// A4 in points.
const PAGE: (f32, f32) = (595.28, 841.89);
const LEFT: f32 = 56.0;
const VALUES: f32 = 230.0;
const LINE: f32 = 18.0;

/// The file name the download is offered under.
pub fn file_name(subscription: &Subscription) -> String {
    format!("Abo-Uebersicht-{}.pdf", subscription.contract_number)
}

/// The overview as PDF bytes.
pub fn render(
    subscription: &Subscription,
    holder: &CustomerData,
    salutation: Salutation,
    issued: NaiveDate,
    lang: Lang,
) -> Result<Vec<u8>, AppError> {
    let (Some(regular), Some(bold)) = (REGULAR.clone(), BOLD.clone()) else {
        return Err(AppError::Internal("the embedded font does not load".into()));
    };
    let t = |de: &'static str, en: &'static str| match lang {
        Lang::De => de,
        Lang::En => en,
    };
    // TT.MM.JJJJ in both languages, as the guides print dates.
    let date = german;
    let mut sections: Vec<(&str, Vec<(&str, String)>)> = Vec::new();
    let name = match (salutation, lang) {
        (Salutation::Mr, Lang::De) => format!("Herr {} {}", holder.first_name, holder.last_name),
        (Salutation::Ms, Lang::De) => format!("Frau {} {}", holder.first_name, holder.last_name),
        (Salutation::Mr, Lang::En) => format!("Mr {} {}", holder.first_name, holder.last_name),
        (Salutation::Ms, Lang::En) => format!("Ms {} {}", holder.first_name, holder.last_name),
        (Salutation::None, _) => format!("{} {}", holder.first_name, holder.last_name),
    };
    let mut address = vec![
        (t("Name", "Name"), name),
        (t("Geburtsdatum", "Date of birth"), date(holder.birth_date)),
    ];
    if let Some(recipient) = &holder.recipient {
        address.push((t("Empfänger", "Recipient"), recipient.clone()));
    }
    address.push((t("Adresse", "Address"), holder.street.clone()));
    address.push(("", format!("{} {}", holder.postal_code, holder.city)));
    address.push(("", country_name(&holder.country, lang)));
    sections.push((t("Inhaber", "Holder"), address));

    let none = || t("–", "–").to_string();
    let valid_to = subscription
        .valid_to
        .map_or_else(|| t("unbefristet", "open-ended").to_string(), date);
    sections.push((
        t("Abo", "Subscription"),
        vec![
            (
                t("Vertragsnummer", "Contract number"),
                subscription.contract_number.clone(),
            ),
            (
                t("Abo Nr.", "Subscription number"),
                subscription
                    .subscription_number
                    .clone()
                    .unwrap_or_else(none),
            ),
            (
                t("Chipkarten-Nummer", "Chip card number"),
                subscription.chip_card_number.clone().unwrap_or_else(none),
            ),
            (t("Produkt", "Product"), subscription.product.clone()),
            (t("Gültig ab", "Valid from"), date(subscription.valid_from)),
            (t("Gültig bis", "Valid until"), valid_to),
            (
                t("Vertragsstatus", "Status"),
                status_label(subscription.status, lang).to_string(),
            ),
        ],
    ));
    if let Some(contract) = &subscription.company_contract {
        sections.push((
            t("Firma", "Company"),
            vec![
                (t("Firma", "Company"), contract.company_name.clone()),
                (
                    t("Firmenvertrag", "Company contract"),
                    contract.contract_number.clone(),
                ),
                (
                    t("Produktangebot", "Product offering"),
                    contract.product_offering.clone(),
                ),
            ],
        ));
    }
    sections.push((
        t("Einwilligung", "Consent"),
        vec![(
            t("Werbe-Einwilligung", "Marketing consent"),
            if holder.marketing_consent {
                t("ja", "yes")
            } else {
                t("nein", "no")
            }
            .to_string(),
        )],
    ));

    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "{} {}",
                t("Abo-Übersicht", "Subscription overview"),
                subscription.contract_number
            ))
            .language(lang.as_str().to_string())
            .creator("Firmenportal".into()),
    );
    let settings = PageSettings::from_wh(PAGE.0, PAGE.1)
        .ok_or_else(|| AppError::Internal("page size".into()))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    let mut y = 72.0;
    let mut text = |x: f32, y: f32, font: &Font, size: f32, content: &str| {
        if !content.is_empty() {
            surface.draw_text(
                Point::from_xy(x, y),
                font.clone(),
                size,
                content,
                false,
                TextDirection::Auto,
            );
        }
    };
    text(
        LEFT,
        y,
        &bold,
        20.0,
        t("Abo-Übersicht", "Subscription overview"),
    );
    y += LINE * 1.5;
    let issued_line = format!("{} {}", t("Ausgestellt am", "Issued on"), date(issued));
    text(LEFT, y, &regular, 10.0, &issued_line);
    y += LINE * 2.0;
    for (heading, rows) in &sections {
        text(LEFT, y, &bold, 13.0, heading);
        y += LINE * 1.2;
        for (label, value) in rows {
            text(LEFT, y, &regular, 10.5, label);
            text(VALUES, y, &regular, 10.5, value);
            y += LINE;
        }
        y += LINE * 0.8;
    }
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|e| AppError::Internal(format!("writing the PDF: {e:?}")))
}

fn status_label(status: SubscriptionStatus, lang: Lang) -> &'static str {
    use SubscriptionStatus::*;
    match (status, lang) {
        (Requested, Lang::De) => "BEANTRAGT",
        (Active, Lang::De) => "AKTIV",
        (Paused, Lang::De) => "PAUSIERT",
        (Cancelled, Lang::De) => "GEKÜNDIGT",
        (Blocked, Lang::De) => "GESPERRT",
        (Ended, Lang::De) => "BEENDET",
        (Requested, Lang::En) => "REQUESTED",
        (Active, Lang::En) => "ACTIVE",
        (Paused, Lang::En) => "PAUSED",
        (Cancelled, Lang::En) => "CANCELLED",
        (Blocked, Lang::En) => "BLOCKED",
        (Ended, Lang::En) => "ENDED",
    }
}
