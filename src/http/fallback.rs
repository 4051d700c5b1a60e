//! Answers for requests no route takes: 405 with `Allow` when the path exists under
//! another method, 404 otherwise — both problem+json.

use actix_web::{HttpRequest, web};

use crate::error::AppError;

/// Every served path template with its methods, taken from the OpenAPI document so the
/// table cannot drift from the routes.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi, extra_get_paths: &[&str]) -> Self {
        let mut routes: Vec<(Vec<String>, Vec<String>)> = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods = Vec::new();
                let ops = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                for (name, present) in ops {
                    if present {
                        methods.push(name.to_string());
                    }
                }
                (segments(path), methods)
            })
            .collect();
        for path in extra_get_paths {
            routes.push((segments(path), vec!["GET".into()]));
        }
        RouteTable { routes }
    }

    /// Methods served for a concrete path (empty when the path is unknown). Where a
    /// literal segment and a placeholder both match (`/me/subscriptions/link` and
    /// `/me/subscriptions/{id}`), the most literal template speaks for the path.
    pub fn methods_for(&self, path: &str) -> Vec<String> {
        let concrete = segments(path);
        let matching: Vec<&(Vec<String>, Vec<String>)> = self
            .routes
            .iter()
            .filter(|(template, _)| matches(template, &concrete))
            .collect();
        let fewest_placeholders = matching
            .iter()
            .map(|(template, _)| placeholders(template))
            .min();
        let mut methods: Vec<String> = matching
            .into_iter()
            .filter(|(template, _)| Some(placeholders(template)) == fewest_placeholders)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn placeholders(template: &[String]) -> usize {
    template.iter().filter(|t| t.starts_with('{')).count()
}

fn matches(template: &[String], concrete: &[String]) -> bool {
    template.len() == concrete.len()
        && template
            .iter()
            .zip(concrete)
            .all(|(t, c)| t == c || placeholder_matches(t, c))
}

/// `{id}` matches any segment, `{month}.csv` one that ends with `.csv`.
fn placeholder_matches(template: &str, concrete: &str) -> bool {
    template.starts_with('{')
        && template
            .split_once('}')
            .is_some_and(|(_, suffix)| concrete.len() > suffix.len() && concrete.ends_with(suffix))
}

pub async fn unmatched_route(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<actix_web::HttpResponse, AppError> {
    let allowed = routes.methods_for(req.path());
    if allowed.is_empty() || allowed.iter().any(|m| m == req.method().as_str()) {
        Err(AppError::not_found())
    } else {
        Err(AppError::MethodNotAllowed { allowed })
    }
}
