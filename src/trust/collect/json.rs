//! JSON trust documents: IAM policies (bare, CloudFormation, `aws iam get-role` output), Vault
//! role bodies, GCP providers and Azure federated credentials, at any depth of the value.

use super::{text, texts};
use crate::trust::model::*;
use crate::trust::source::{Entry, Node, SrcFile, Val};

/// Finds every trust document inside a JSON value, at any depth (CloudFormation templates,
/// `aws iam get-role` output, and bare policies alike).
pub(super) fn json_documents(src: &SrcFile, node: &Node, inv: &mut Inventory) {
    let stem = src.path.rsplit('/').next().unwrap_or(&src.path).to_string();
    let mut stack = vec![(node, String::new())];
    while let Some((n, at)) = stack.pop() {
        match &n.val {
            Val::Map(entries) => {
                if n.get("Statement").is_some() {
                    let resource = if at.is_empty() {
                        stem.clone()
                    } else {
                        format!("{stem} {at}")
                    };
                    let policy = aws_policy_from_node(src, n, resource);
                    if !policy.statements.is_empty() {
                        inv.aws.push(policy);
                    }
                    continue;
                }
                if n.get("role_type").is_some()
                    || n.get("bound_audiences").is_some()
                    || (n.get("user_claim").is_some() && n.get("bound_claims").is_some())
                {
                    inv.vault.push(vault_role_from_json(src, n, &stem));
                    continue;
                }
                if let Some(issuer) = n.get("oidc").and_then(|o| o.get("issuerUri")) {
                    inv.gcp.push(GcpProvider {
                        resource: stem.clone(),
                        loc: src.loc(&n.span),
                        issuer: text(src, issuer),
                        attribute_condition: n.get("attributeCondition").and_then(|c| text(src, c)),
                        attribute_mapping: mapping(n.get("attributeMapping")),
                    });
                    continue;
                }
                if n.get("issuer").is_some()
                    && n.get("subject").is_some()
                    && n.get("audiences").is_some()
                {
                    let aud = n.get("audiences");
                    inv.azure.push(AzureCredential {
                        resource: stem.clone(),
                        loc: src.loc(&n.span),
                        issuer: n.get("issuer").and_then(|v| text(src, v)),
                        audiences: texts(src, aud),
                        audiences_loc: aud.map(|a| src.loc(&a.span)),
                        subject: n.get("subject").and_then(|v| text(src, v)),
                    });
                    continue;
                }
                for e in entries.iter().rev() {
                    stack.push((&e.value, join(&at, &e.key)));
                }
            }
            Val::List(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    stack.push((item, format!("{at}[{i}]")));
                }
            }
            _ => {}
        }
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

pub(super) fn mapping(n: Option<&Node>) -> Vec<(String, String)> {
    n.map(|m| {
        m.entries()
            .iter()
            .filter_map(|e| Some((e.key.clone(), e.value.text()?.to_string())))
            .collect()
    })
    .unwrap_or_default()
}

/// An IAM policy document (JSON, or Terraform `jsonencode`) as statements.
pub(super) fn aws_policy_from_node(src: &SrcFile, doc: &Node, resource: String) -> AwsPolicy {
    let statements = match doc.get("Statement") {
        Some(Node {
            val: Val::List(items),
            ..
        }) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let statements = statements
        .into_iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.val, Val::Map(_)))
        .map(|(i, s)| {
            let federated = match s.get("Principal") {
                Some(
                    p @ Node {
                        val: Val::Map(_), ..
                    },
                ) => texts(src, p.get("Federated")),
                Some(star) => texts(src, Some(star)),
                None => Vec::new(),
            };
            let mut conditions = Vec::new();
            for op in s.get("Condition").map(Node::entries).unwrap_or_default() {
                for key in op.value.entries() {
                    conditions.push(AwsCondition {
                        operator: entry_key(src, op),
                        key: entry_key(src, key),
                        values: texts(src, Some(&key.value)),
                    });
                }
            }
            AwsStatement {
                name: format!("Statement[{i}]"),
                loc: src.loc(&s.span),
                allow: s
                    .get("Effect")
                    .and_then(Node::text)
                    .is_none_or(|e| !e.eq_ignore_ascii_case("deny")),
                actions: texts(src, s.get("Action")),
                federated,
                issuer: None,
                provider_audiences: Vec::new(),
                conditions,
            }
        })
        .collect();
    AwsPolicy {
        resource,
        loc: src.loc(&doc.span),
        statements,
    }
}

pub(super) fn entry_key(src: &SrcFile, e: &Entry) -> Text {
    Text {
        value: e.key.clone(),
        loc: src.loc(&e.key_span),
        depends: None,
    }
}

fn vault_role_from_json(src: &SrcFile, n: &Node, stem: &str) -> VaultRole {
    let aud = n.get("bound_audiences");
    let mut bound_audiences = texts(src, aud);
    // The Vault API also takes a comma-separated string.
    split_commas(&mut bound_audiences);
    VaultRole {
        resource: stem.to_string(),
        loc: src.loc(&n.span),
        role_name: n
            .get("name")
            .or(n.get("role_name"))
            .and_then(|v| text(src, v)),
        role_type: n.get("role_type").and_then(|v| text(src, v)),
        bound_audiences,
        bound_audiences_loc: aud.map(|a| src.loc(&a.span)),
        bound_subject: n.get("bound_subject").and_then(|v| text(src, v)),
        bound_claims: claims(src, n.get("bound_claims")),
        claims_glob: n
            .get("bound_claims_type")
            .and_then(Node::text)
            .is_some_and(|t| t == "glob"),
        backend_issuer: None,
    }
}

pub(super) fn split_commas(values: &mut Vec<Text>) {
    *values = values
        .drain(..)
        .flat_map(|t| {
            t.value
                .split(',')
                .map(|v| Text {
                    value: v.trim().to_string(),
                    loc: t.loc.clone(),
                    depends: None,
                })
                .filter(|t| !t.value.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
}

pub(super) fn claims(src: &SrcFile, n: Option<&Node>) -> Vec<(Text, Vec<Text>)> {
    n.map(|m| {
        m.entries()
            .iter()
            .map(|e| {
                let mut values = texts(src, Some(&e.value));
                split_commas(&mut values);
                (entry_key(src, e), values)
            })
            .collect()
    })
    .unwrap_or_default()
}
