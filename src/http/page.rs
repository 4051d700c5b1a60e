//! Paging of every list, as DESIGN §5 promises: `page` (from 1) and `per_page` (default
//! 25, at most 100) in, `{items, total, page, per_page, total_relation}` out, so a
//! frontend can print "angezeigt 1 bis 25 von 120 Einträgen". A list's query struct
//! embeds [`PageQuery`] with `#[serde(flatten)]`; its SQL takes [`Paging::limit`] and
//! [`Paging::offset`] and ends its `ORDER BY` with the id, so consecutive pages never
//! overlap or skip. A free-text search (`q`) counts its matches only up to
//! `SEARCH_COUNT_LIMIT` ([`Total::capped`]): counting every match of a common word costs
//! a walk through the whole list on every page, and nobody reads "von 31.715
//! Einträgen"; above the limit the page says "mehr als 1.000" (`total_relation: gte`).

use diesel::backend::Backend;
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::methods::{LimitDsl, SelectDsl};
use diesel::query_dsl::{LoadQuery, RunQueryDsl};
use diesel::sql_types::{BigInt, Integer};
use diesel::{Connection, QueryResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};

pub const DEFAULT_PER_PAGE: i64 = 25;
pub const MAX_PER_PAGE: i64 = 100;
/// Far beyond any real list; keeps `offset` from overflowing.
const MAX_PAGE: i64 = 1_000_000;

/// The paging parameters of a list request.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1). A page past the end is empty and still carries
    /// the `total`.
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<QueryNumber>,
    /// Items per page, 1 to 100 (default 25).
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 25)]
    pub per_page: Option<QueryNumber>,
}

/// A number as a query string carries it, checked when it is used: under
/// `#[serde(flatten)]` every value arrives as a string, and a parse error there would
/// lose the parameter's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryNumber {
    Number(i64),
    Text(String),
}

impl QueryNumber {
    fn value(&self, pointer: &str) -> Result<i64, FieldError> {
        match self {
            QueryNumber::Number(n) => Ok(*n),
            QueryNumber::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| FieldError::new(pointer, FieldErrorCode::InvalidType)),
        }
    }
}

/// Checked paging: which rows to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl PageQuery {
    /// The paging, or field errors at `/page` and `/per_page`.
    pub fn paging(&self) -> Result<Paging, AppError> {
        let mut errors = FieldErrors::default();
        let page = errors.take(in_range(self.page.as_ref(), 1, 1, MAX_PAGE, "/page"));
        let per_page = errors.take(in_range(
            self.per_page.as_ref(),
            DEFAULT_PER_PAGE,
            1,
            MAX_PER_PAGE,
            "/per_page",
        ));
        errors.into_result()?;
        match (page, per_page) {
            (Some(page), Some(per_page)) => Ok(Paging { page, per_page }),
            _ => unreachable!("no field errors means both parsed"),
        }
    }
}

impl Paging {
    pub fn limit(self) -> i64 {
        self.per_page
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// One page of a list whose query counted `total` rows (an `i64` is exact).
    pub fn page_of<T>(self, items: Vec<T>, total: impl Into<Total>) -> Page<T> {
        let total = total.into();
        Page {
            items,
            total: total.count,
            page: self.page,
            per_page: self.per_page,
            total_relation: total.relation,
        }
    }
}

/// Whether a page's `total` is exact or a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(example = "eq")]
pub enum TotalRelation {
    /// `total` is the exact number of items.
    Eq,
    /// The list has more than `total` items (a free-text search stopped counting at
    /// `SEARCH_COUNT_LIMIT`).
    Gte,
}

/// How many items a list holds, as far as it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub count: i64,
    pub relation: TotalRelation,
}

impl Total {
    pub const fn exact(count: i64) -> Total {
        Total {
            count,
            relation: TotalRelation::Eq,
        }
    }

    /// The total of a count that stopped at `cap + 1` rows (`found` of them): exact up to
    /// `cap`, beyond it `cap` as a lower bound.
    pub fn capped(found: i64, cap: i64) -> Total {
        if found > cap {
            Total {
                count: cap,
                relation: TotalRelation::Gte,
            }
        } else {
            Total::exact(found)
        }
    }

    /// Counts the rows of `query` (a list's filtered query) up to `cap + 1`: the matches
    /// of a free-text search, exact up to `cap` and a lower bound beyond it. The database
    /// counts (`SELECT COUNT(*) FROM (… LIMIT cap + 1)`) and answers one row. On either
    /// connection: [`crate::db::DbConnection`], or a backend's own inside
    /// `db::on_backend!`. The statement is prepared once per connection, so PostgreSQL
    /// may settle on one plan for every pattern: right where no index serves the text and
    /// every pattern is one walk; where one does, see [`Total::count_up_to_planned`].
    pub fn count_up_to<C, Q>(conn: &mut C, query: Q, cap: i64) -> Result<Total, AppError>
    where
        C: Connection,
        Q: SelectDsl<One>,
        Q::Output: LimitDsl,
        for<'a> CountOf<<Q::Output as LimitDsl>::Output>: LoadQuery<'a, C, i64>,
    {
        let rows = query.select(One).limit(cap.saturating_add(1));
        Ok(Total::capped(CountOf(rows).get_result(conn)?, cap))
    }

    /// [`Total::count_up_to`], planned for every pattern anew (diesel never prepares a
    /// statement with SQL text in it): where an index on the text serves a rare word
    /// and a walk that stops at the cap a common one, a plan settled on one pattern
    /// would be slow for the other kind.
    pub fn count_up_to_planned<C, Q>(conn: &mut C, query: Q, cap: i64) -> Result<Total, AppError>
    where
        C: Connection,
        Q: SelectDsl<SqlLiteral<Integer>>,
        Q::Output: LimitDsl,
        for<'a> CountOf<<Q::Output as LimitDsl>::Output>: LoadQuery<'a, C, i64>,
    {
        let rows = query
            .select(sql::<Integer>("1"))
            .limit(cap.saturating_add(1));
        Ok(Total::capped(CountOf(rows).get_result(conn)?, cap))
    }

    pub fn is_exact(self) -> bool {
        self.relation == TotalRelation::Eq
    }

    /// Whether a page from `offset` on is known to be empty: only an exact total says so;
    /// past a lower bound the matches go on.
    pub fn ends_before(self, offset: i64) -> bool {
        self.is_exact() && offset >= self.count
    }
}

impl From<i64> for Total {
    fn from(count: i64) -> Self {
        Total::exact(count)
    }
}

fn in_range(
    value: Option<&QueryNumber>,
    default: i64,
    min: i64,
    max: i64,
    pointer: &str,
) -> Result<i64, FieldError> {
    let value = value.map_or(Ok(default), |v| v.value(pointer))?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            pointer,
            FieldErrorCode::OutOfRange { min, max },
        ))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole list holds (over all pages); see `total_relation`.
    #[schema(example = 1)]
    pub total: i64,
    /// This page's number, from 1.
    #[schema(example = 1)]
    pub page: i64,
    /// The page size asked for.
    #[schema(example = 25)]
    pub per_page: i64,
    /// `eq`: `total` is exact ("von 120 Einträgen"). `gte`: the list is filtered by a
    /// free-text `q` that matches more than `SEARCH_COUNT_LIMIT` items (default 1000),
    /// and `total` is that limit, a lower bound ("von mehr als 1.000 Einträgen"). Pages
    /// past it still serve every match in order, without overlap or gap; the first empty
    /// page marks the end.
    pub total_relation: TotalRelation,
}

/// The constant `1` as a selection. diesel's `sql("1")` would mark every statement it
/// is in as one never to prepare; this one is as cacheable as a column.
#[derive(Debug, Clone, Copy, QueryId, ValidGrouping)]
pub struct One;

impl Expression for One {
    type SqlType = Integer;
}

impl<QS> AppearsOnTable<QS> for One {}

impl<QS> SelectableExpression<QS> for One {}

impl<DB: Backend> QueryFragment<DB> for One {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("1");
        Ok(())
    }
}

/// `SELECT COUNT(*) FROM (query) AS counted`: the number of rows a query gives, counted
/// by the database (diesel has no subquery in `FROM`; the pattern of its pagination
/// guide). Prepared whenever the query inside may be.
#[derive(Debug, Clone, Copy, QueryId)]
pub struct CountOf<Q>(pub Q);

impl<Q: Query> Query for CountOf<Q> {
    type SqlType = BigInt;
}

impl<Q, C: Connection> RunQueryDsl<C> for CountOf<Q> {}

impl<Q, DB> QueryFragment<DB> for CountOf<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("SELECT COUNT(*) FROM (");
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(") AS counted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::query::parse_query;

    #[derive(Debug, Deserialize)]
    struct ListQuery {
        #[serde(default)]
        q: Option<String>,
        #[serde(flatten)]
        page: PageQuery,
    }

    fn pointers(error: AppError) -> Vec<(String, &'static str)> {
        match error {
            AppError::Validation(fields) => fields
                .into_iter()
                .map(|f| (f.pointer, f.code.as_str()))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_to_the_first_page_of_twenty_five() {
        let query: ListQuery = parse_query("").unwrap();
        let paging = query.page.paging().unwrap();
        assert_eq!((paging.page, paging.per_page), (1, 25));
        assert_eq!((paging.offset(), paging.limit()), (0, 25));
        let query: ListQuery = parse_query("q=M%C3%BCller&page=3&per_page=100").unwrap();
        assert_eq!(query.q.as_deref(), Some("Müller"));
        assert_eq!(query.page.paging().unwrap().offset(), 200);
    }

    #[test]
    fn out_of_range_values_are_field_errors_at_their_parameter() {
        let query: ListQuery = parse_query("page=0&per_page=101").unwrap();
        assert_eq!(
            pointers(query.page.paging().unwrap_err()),
            [
                ("/page".to_string(), "out_of_range"),
                ("/per_page".to_string(), "out_of_range")
            ]
        );
        let query: ListQuery = parse_query("per_page=viele").unwrap();
        assert_eq!(
            pointers(query.page.paging().unwrap_err()),
            [("/per_page".to_string(), "invalid_type")]
        );
    }

    #[test]
    fn a_search_total_is_exact_up_to_the_cap_and_a_lower_bound_beyond() {
        assert_eq!(Total::capped(1000, 1000), Total::exact(1000));
        let beyond = Total::capped(1001, 1000);
        assert_eq!((beyond.count, beyond.relation), (1000, TotalRelation::Gte));
        assert!(
            !beyond.ends_before(5000),
            "matches go on past a lower bound"
        );
        assert!(Total::exact(10).ends_before(10));
        assert!(!Total::exact(10).ends_before(9));
    }

    #[test]
    fn a_page_carries_items_and_the_total() {
        let paging = Paging {
            page: 2,
            per_page: 25,
        };
        let page = paging.page_of(vec!["a"], 26);
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"items": ["a"], "total": 26, "page": 2, "per_page": 25, "total_relation": "eq"})
        );
    }
}
