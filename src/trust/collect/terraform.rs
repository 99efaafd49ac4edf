//! Terraform resources and data sources that hold trust configuration, read from hcl-edit
//! bodies whose values `terraform_eval` resolves.

use super::json::{aws_policy_from_node, claims, mapping};
use super::terraform_eval::{hcl_node, span_of};
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
            let is_resource = b.ident.as_str() == "resource";
            let resource = format!("{}{ty}.{name}", if is_data { "data." } else { "" });
            let loc = src.loc(&b.span().unwrap_or(0..0));
            match ty.as_str() {
                "aws_iam_role" if is_resource => {
                    if let Some(mut p) = assume_role_policy(src, &b.body, &resource, out) {
                        resolve_issuers(&mut p, &syms);
                        out.inventory.aws.push(p);
                    }
                }
                "aws_iam_policy_document" if is_data => {
                    let mut p = policy_document(src, &b.body, resource, loc);
                    resolve_issuers(&mut p, &syms);
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
        _ => return None,
    };
    let p = aws_policy_from_node(src, &node, resource.to_string());
    (!p.statements.is_empty()).then_some(p)
}

/// `data "aws_iam_policy_document"`: `statement` blocks with `principals` and `condition`.
fn policy_document(src: &SrcFile, body: &Body, resource: String, loc: Loc) -> AwsPolicy {
    let statements = body
        .get_blocks("statement")
        .enumerate()
        .map(|(i, s)| {
            let federated = s
                .body
                .get_blocks("principals")
                .filter(|p| attr_str(&p.body, "type").as_deref() == Some("Federated"))
                .flat_map(|p| texts(src, attr_node(src, &p.body, "identifiers").as_ref()))
                .collect();
            let conditions = s
                .body
                .get_blocks("condition")
                .filter_map(|c| {
                    Some(AwsCondition {
                        operator: attr_text(src, &c.body, "test")?,
                        key: attr_text(src, &c.body, "variable")?,
                        values: texts(src, attr_node(src, &c.body, "values").as_ref()),
                    })
                })
                .collect();
            AwsStatement {
                name: format!("statement[{i}]"),
                loc: src.loc(&span_of(s)),
                allow: attr_str(&s.body, "effect").is_none_or(|e| e != "Deny"),
                actions: texts(src, attr_node(src, &s.body, "actions").as_ref()),
                federated,
                issuer: None,
                provider_audiences: Vec::new(),
                conditions,
            }
        })
        .collect();
    AwsPolicy {
        resource,
        loc,
        statements,
    }
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
