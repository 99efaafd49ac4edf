//! Terraform resources and data sources that hold trust configuration, read from hcl-edit
//! bodies whose values `terraform_eval` resolves.

use super::json::{aws_policy_from_node, claims, mapping};
use super::terraform_eval::{evaluate_value, hcl_node, span_of};
use super::{text, texts, Collected};
use crate::trust::model::*;
use crate::trust::source::{parse_json, Node, SrcFile};
use crate::trust::{Loc, Malformed};
use hcl::edit::expr::Expression;
use hcl::edit::structure::{Block, Body};
use hcl::edit::Span;
use std::collections::HashMap;

/// Names Terraform objects resolve through: OIDC providers (for `Principal.Federated`
/// references) and Vault JWT backends (for a role's issuer).
#[derive(Default)]
struct Symbols {
    /// `aws_iam_openid_connect_provider.github` -> `token.actions.githubusercontent.com`.
    oidc_providers: HashMap<String, String>,
    /// provider reference -> its `client_id_list` (the audiences IAM accepts).
    provider_audiences: HashMap<String, Vec<String>>,
    /// backend reference or mount path -> issuer.
    vault_backends: HashMap<String, String>,
}

pub(super) fn labels(b: &Block) -> (String, String) {
    let l: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
    (
        l.first().unwrap_or(&"").to_string(),
        l.get(1).unwrap_or(&"").to_string(),
    )
}

pub(super) fn attr_str(body: &Body, key: &str) -> Option<String> {
    match body.get_attribute(key).map(|a| &a.value) {
        Some(Expression::String(s)) => Some(s.value().to_string()),
        _ => None,
    }
}

fn strip_scheme(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string()
}

fn symbols(files: &[(SrcFile, Body)]) -> Symbols {
    let mut s = Symbols::default();
    for (src, body) in files {
        for b in body.blocks() {
            let (ty, name) = labels(b);
            let prefix = if b.ident.as_str() == "data" {
                "data."
            } else {
                ""
            };
            match ty.as_str() {
                "aws_iam_openid_connect_provider" => {
                    let reference = format!("{prefix}{ty}.{name}");
                    if let Some(url) = attr_str(&b.body, "url") {
                        s.oidc_providers
                            .insert(reference.clone(), strip_scheme(&url));
                    }
                    let audiences: Vec<String> = attr_node(src, &b.body, "client_id_list")
                        .map(|n| {
                            n.scalars()
                                .iter()
                                .filter_map(|v| v.text())
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default();
                    if !audiences.is_empty() {
                        s.provider_audiences.insert(reference, audiences);
                    }
                }
                "vault_jwt_auth_backend" => {
                    let issuer = attr_str(&b.body, "bound_issuer")
                        .or_else(|| attr_str(&b.body, "oidc_discovery_url"))
                        .or_else(|| attr_str(&b.body, "jwks_url"));
                    if let Some(issuer) = issuer {
                        let path = attr_str(&b.body, "path").unwrap_or_else(|| "jwt".into());
                        s.vault_backends
                            .insert(format!("{prefix}{ty}.{name}"), issuer.clone());
                        s.vault_backends.insert(path, issuer);
                    }
                }
                _ => {}
            }
        }
    }
    s
}

pub(super) fn terraform_documents(files: &[(SrcFile, Body)], out: &mut Collected) {
    let syms = symbols(files);
    for (src, body) in files {
        for b in body.blocks() {
            let (ty, name) = labels(b);
            let is_data = b.ident.as_str() == "data";
            let resource = format!("{}{ty}.{name}", if is_data { "data." } else { "" });
            // `for_each`: one document per instance, `each.key`/`each.value` bound
            let Some(for_each) = b.body.get_attribute("for_each") else {
                document(src, b, resource, &syms, out);
                continue;
            };
            let instances: Vec<(String, hcl::Value)> = match evaluate_value(src, &for_each.value) {
                Ok(hcl::Value::Object(m)) => m.into_iter().collect(),
                Ok(hcl::Value::Array(items)) => items
                    .into_iter()
                    .filter_map(|v| Some((v.as_str()?.to_string(), v)))
                    .collect(),
                _ => {
                    if is_trust_type(&ty) {
                        unsupported(src, &for_each.value, "`for_each` not expanded: its value is not known statically; the block is judged once, as written");
                    }
                    document(src, b, resource, &syms, out);
                    continue;
                }
            };
            for (key, value) in instances {
                let mut each = hcl::Map::new();
                each.insert("key".to_string(), hcl::Value::String(key.clone()));
                each.insert("value".to_string(), value);
                src.scope
                    .borrow_mut()
                    .push(("each".to_string(), hcl::Value::Object(each)));
                document(src, b, format!("{resource}[\"{key}\"]"), &syms, out);
                src.scope.borrow_mut().pop();
            }
        }
    }
}

fn is_trust_type(ty: &str) -> bool {
    matches!(
        ty,
        "aws_iam_role"
            | "aws_iam_policy_document"
            | "google_iam_workload_identity_pool_provider"
            | "azurerm_federated_identity_credential"
            | "azuread_application_federated_identity_credential"
            | "vault_jwt_auth_backend_role"
    )
}

/// One Terraform block (one `for_each` instance) as a trust document, when it is one.
fn document(src: &SrcFile, b: &Block, resource: String, syms: &Symbols, out: &mut Collected) {
    {
        {
            let (ty, _) = labels(b);
            let is_data = b.ident.as_str() == "data";
            let is_resource = b.ident.as_str() == "resource";
            let loc = src.loc(&b.span().unwrap_or(0..0));
            match ty.as_str() {
                "aws_iam_role" if is_resource => {
                    if let Some(mut p) = assume_role_policy(src, &b.body, &resource, out) {
                        resolve_issuers(&mut p, syms);
                        out.inventory.aws.push(p);
                    }
                }
                "aws_iam_policy_document" if is_data => {
                    let mut p = policy_document(src, &b.body, resource, loc);
                    resolve_issuers(&mut p, syms);
                    if !p.statements.is_empty() {
                        out.inventory.aws.push(p);
                    }
                }
                "google_iam_workload_identity_pool_provider" if is_resource => {
                    let oidc = b.body.get_blocks("oidc").next();
                    out.inventory.gcp.push(GcpProvider {
                        resource,
                        loc,
                        issuer: oidc.and_then(|o| attr_text(src, &o.body, "issuer_uri")),
                        attribute_condition: attr_text(src, &b.body, "attribute_condition"),
                        attribute_mapping: mapping(
                            attr_node(src, &b.body, "attribute_mapping").as_ref(),
                        ),
                    });
                }
                "azurerm_federated_identity_credential"
                | "azuread_application_federated_identity_credential"
                    if is_resource =>
                {
                    let aud = attr_node(src, &b.body, "audience")
                        .or_else(|| attr_node(src, &b.body, "audiences"));
                    out.inventory.azure.push(AzureCredential {
                        resource,
                        loc,
                        issuer: attr_text(src, &b.body, "issuer"),
                        audiences: texts(src, aud.as_ref()),
                        audiences_loc: aud.as_ref().map(|a| src.loc(&a.span)),
                        subject: attr_text(src, &b.body, "subject"),
                    });
                }
                "vault_jwt_auth_backend_role" if is_resource => {
                    let aud = attr_node(src, &b.body, "bound_audiences");
                    let backend = attr_node(src, &b.body, "backend")
                        .and_then(|n| n.text().map(str::to_string))
                        .unwrap_or_else(|| "jwt".into());
                    let backend_key = backend.trim_end_matches(".path").to_string();
                    out.inventory.vault.push(VaultRole {
                        resource,
                        loc,
                        role_name: attr_text(src, &b.body, "role_name"),
                        role_type: attr_text(src, &b.body, "role_type"),
                        bound_audiences: texts(src, aud.as_ref()),
                        bound_audiences_loc: aud.as_ref().map(|a| src.loc(&a.span)),
                        bound_subject: attr_text(src, &b.body, "bound_subject"),
                        bound_claims: claims(src, attr_node(src, &b.body, "bound_claims").as_ref()),
                        claims_glob: attr_str(&b.body, "bound_claims_type")
                            .is_some_and(|t| t == "glob"),
                        backend_issuer: syms.vault_backends.get(&backend_key).cloned(),
                    });
                }
                _ => {}
            }
        }
    }
}

pub(super) fn attr_node(src: &SrcFile, body: &Body, key: &str) -> Option<Node> {
    body.get_attribute(key).map(|a| hcl_node(src, &a.value))
}

pub(super) fn attr_text(src: &SrcFile, body: &Body, key: &str) -> Option<Text> {
    attr_node(src, body, key).and_then(|n| text(src, &n))
}

/// `aws_iam_role.assume_role_policy`: `jsonencode({...})`, a heredoc, or a JSON string. A
/// reference (`data.aws_iam_policy_document.x.json`) is left alone: the data source is
/// linted where it is defined.
fn assume_role_policy(
    src: &SrcFile,
    body: &Body,
    resource: &str,
    out: &mut Collected,
) -> Option<AwsPolicy> {
    let attr = body.get_attribute("assume_role_policy")?;
    let span = span_of(&attr.value);
    let mut malformed = |offset: usize, message: &str| {
        let (line, column) = src.position(offset);
        out.malformed.push(Malformed {
            path: src.path.clone(),
            line,
            column,
            reason: format!("JSON in {resource}.assume_role_policy: {message}"),
        });
    };
    let node = match &attr.value {
        Expression::FuncCall(f) if f.name.name.as_str() == "jsonencode" => {
            hcl_node(src, f.args.iter().next()?)
        }
        Expression::HeredocTemplate(h) => {
            let hspan = span_of(h.as_ref());
            let raw = src.text.get(hspan.clone())?;
            let first_nl = raw.find('\n')? + 1;
            let last_nl = raw.trim_end().rfind('\n').unwrap_or(raw.len());
            let body_text = raw.get(first_nl..last_nl.max(first_nl))?;
            match parse_json(body_text, hspan.start + first_nl) {
                Ok(n) => n,
                Err(e) => {
                    malformed(e.offset, &e.message);
                    return None;
                }
            }
        }
        Expression::String(s) => match parse_json(s.value(), 0) {
            Ok(mut n) => {
                n.flatten_spans(&span);
                n
            }
            Err(e) => {
                // a string's offsets are inside its decoded value: point at the string
                malformed(span.start, &e.message);
                return None;
            }
        },
        // `data.template_file.x.rendered`, `templatefile(...)`, a local holding the JSON
        other => match hcl_node(src, other).val {
            crate::trust::source::Val::Str(json) => match parse_json(&json, 0) {
                Ok(mut n) => {
                    n.flatten_spans(&span);
                    n
                }
                Err(e) => {
                    malformed(span.start, &e.message);
                    return None;
                }
            },
            _ => return None,
        },
    };
    let p = aws_policy_from_node(src, &node, resource.to_string());
    (!p.statements.is_empty()).then_some(p)
}

/// `data "aws_iam_policy_document"`: `statement` blocks with `principals` and `condition`.
fn policy_document(src: &SrcFile, body: &Body, resource: String, loc: Loc) -> AwsPolicy {
    let word =
        |b: &Body, key: &str| attr_node(src, b, key).and_then(|n| n.text().map(str::to_string));
    let mut i = 0;
    let statements = expand(src, body, "statement", &mut |s, span| {
        let federated = expand(src, s, "principals", &mut |p, _| {
            (word(p, "type").as_deref() == Some("Federated"))
                .then(|| texts(src, attr_node(src, p, "identifiers").as_ref()))
        })
        .into_iter()
        .flatten()
        .collect();
        let conditions = expand(src, s, "condition", &mut |c, _| {
            Some(AwsCondition {
                operator: attr_text(src, c, "test")?,
                key: attr_text(src, c, "variable")?,
                values: texts(src, attr_node(src, c, "values").as_ref()),
            })
        });
        let st = AwsStatement {
            name: format!("statement[{i}]"),
            loc: src.loc(&span),
            allow: word(s, "effect").is_none_or(|e| e != "Deny"),
            actions: texts(src, attr_node(src, s, "actions").as_ref()),
            federated,
            issuer: None,
            provider_audiences: Vec::new(),
            conditions,
        };
        i += 1;
        Some(st)
    });
    AwsPolicy {
        resource,
        loc,
        statements,
    }
}

/// Every `NAME` block of `body`, `dynamic "NAME"` blocks expanded: `for_each` evaluated, the
/// iterator (`NAME`, or the `iterator` argument) bound to `{ key, value }` while `f` reads the
/// `content` block. A `for_each` that cannot be evaluated is reported, never skipped silently.
pub(super) fn expand<R>(
    src: &SrcFile,
    body: &Body,
    name: &str,
    f: &mut dyn FnMut(&Body, std::ops::Range<usize>) -> Option<R>,
) -> Vec<R> {
    let mut out = Vec::new();
    for b in body.blocks() {
        let span = span_of(b);
        if b.ident.as_str() == name {
            out.extend(f(&b.body, span));
            continue;
        }
        if b.ident.as_str() != "dynamic" || labels(b).0 != name {
            continue;
        }
        let Some(content) = b.body.get_blocks("content").next() else {
            continue;
        };
        let iterator = b
            .body
            .get_attribute("iterator")
            .and_then(|a| match &a.value {
                Expression::Variable(v) => Some(v.as_str().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| name.to_string());
        let Some(for_each) = b.body.get_attribute("for_each") else {
            continue;
        };
        let items = match evaluate_value(src, &for_each.value) {
            Ok(hcl::Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (hcl::Value::from(i as u64), v))
                .collect::<Vec<_>>(),
            Ok(hcl::Value::Object(m)) => m
                .into_iter()
                .map(|(k, v)| (hcl::Value::String(k), v))
                .collect(),
            Ok(other) => {
                unsupported(
                    src,
                    &for_each.value,
                    &format!("`for_each` is {other}, not a collection"),
                );
                continue;
            }
            Err(e) => {
                unsupported(
                    src,
                    &for_each.value,
                    &format!("dynamic \"{name}\" not expanded: {e}"),
                );
                continue;
            }
        };
        for (key, value) in items {
            let mut each = hcl::Map::new();
            each.insert("key".to_string(), key);
            each.insert("value".to_string(), value);
            src.scope
                .borrow_mut()
                .push((iterator.clone(), hcl::Value::Object(each)));
            let r = f(&content.body, span.clone());
            src.scope.borrow_mut().pop();
            out.extend(r);
        }
    }
    out
}

fn unsupported(src: &SrcFile, e: &Expression, reason: &str) {
    src.unsupported
        .borrow_mut()
        .push((span_of(e).start, reason.to_string()));
}

/// The issuer a statement's federated principal names: from an ARN
/// (`arn:aws:iam::123456789012:oidc-provider/HOST[/PATH]`) or a Terraform reference to an
/// `aws_iam_openid_connect_provider`.
fn resolve_issuers(p: &mut AwsPolicy, syms: &Symbols) {
    for s in &mut p.statements {
        s.issuer = s.federated.iter().find_map(|f| {
            let v = f.value.as_str();
            if let Some((_, host)) = v.split_once("oidc-provider/") {
                // `oidc-provider/${local.issuer}`: unknown here; the condition keys may tell.
                return (!host.contains("${")).then(|| host.to_string());
            }
            syms.oidc_providers.get(provider_reference(v)).cloned()
        });
        s.provider_audiences = s
            .federated
            .iter()
            .find_map(|f| syms.provider_audiences.get(provider_reference(&f.value)))
            .cloned()
            .unwrap_or_default();
    }
}

/// `aws_iam_openid_connect_provider.github` out of `${aws_iam_openid_connect_provider.github.arn}`.
fn provider_reference(v: &str) -> &str {
    let reference = v.trim_start_matches("${").trim_end_matches('}');
    reference.strip_suffix(".arn").unwrap_or(reference)
}
