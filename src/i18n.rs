//! The language of texts a person reads: German by default, English when the request's
//! `Accept-Language` prefers it.

use std::future::{Ready, ready};

use actix_web::http::header::{AcceptLanguage, Header, Preference};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    De,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::De => "de",
            Lang::En => "en",
        }
    }

    /// The first of German or English in the client's ranking; German when neither is
    /// named or the header is missing or malformed.
    pub fn negotiate(message: &impl HttpMessage) -> Lang {
        let Ok(accept) = AcceptLanguage::parse(message) else {
            return Lang::De;
        };
        for preference in accept.ranked() {
            if let Preference::Specific(tag) = preference {
                match tag.primary_language().to_ascii_lowercase().as_str() {
                    "de" => return Lang::De,
                    "en" => return Lang::En,
                    _ => {}
                }
            }
        }
        Lang::De
    }
}

impl FromRequest for Lang {
    type Error = actix_web::Error;
    type Future = Ready<Result<Lang, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Lang::negotiate(req)))
    }
}
