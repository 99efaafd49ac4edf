//! Reads a tree into the trust [`Inventory`]: Terraform (hcl-edit, with byte spans), IAM /
//! Vault / GCP / Azure JSON documents, octo-sts trust policies and the vault-action steps of
//! workflows. A file that looks like trust configuration but does not parse becomes a
//! [`Malformed`] entry; it never stops the walk.

use super::model::*;
use super::source::{parse_json, Entry, Node, SrcFile, Val};
use super::{Loc, Malformed, GITHUB_ISSUER_HOST};
use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Block, Body};
use hcl::edit::Span;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub(crate) struct Collected {
    pub inventory: Inventory,
    pub malformed: Vec<Malformed>,
    pub files: usize,
    /// The text of every file read, by display path: for inline allow comments.
    pub texts: HashMap<String, String>,
}

/// Strings whose presence makes a file worth reporting when it does not parse.
const MARKERS: &[&str] = &[
    "AssumeRoleWithWebIdentity",
    "oidc-provider",
    "aws_iam_role",
    "aws_iam_policy_document",
    "workload_identity_pool_provider",
    "federated_identity_credential",
    "AzureADTokenExchange",
    "vault_jwt_auth_backend_role",
    "bound_audiences",
    "issuerUri",
    GITHUB_ISSUER_HOST,
];

fn looks_relevant(text: &str) -> bool {
    MARKERS.iter().any(|m| text.contains(m))
}

pub(crate) fn collect(root: &Path) -> Collected {
    let mut files: Vec<PathBuf> = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
    } else {
        let config = crate::source::walk::WalkConfig::default();
        files.extend(crate::source::walk::files(root, config));
    }
    files.sort();
    let base = if root.is_file() {
        root.parent().unwrap_or(root)
    } else {
        root
    };
    let mut out = Collected::default();
    let mut terraform: Vec<(SrcFile, Body)> = Vec::new();
    let mut tfvars: Vec<(SrcFile, Body)> = Vec::new();
    for p in files {
        let Some(kind) = kind_of(&p) else { continue };
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        let src = SrcFile::new(display_path(base, &p), text);
        if !matches!(kind, Kind::Workflow) {
            out.texts.insert(src.path.clone(), src.text.clone());
        }
        match kind {
            Kind::Terraform => {
                out.files += 1;
                match hcl::edit::parser::parse_body(&src.text) {
                    Ok(body) => terraform.push((src, body)),
                    Err(e) => {
                        if looks_relevant(&src.text) {
                            let loc = e.location();
                            out.malformed.push(Malformed {
                                path: src.path.clone(),
                                line: loc.line(),
                                column: loc.column(),
                                reason: format!("HCL: {}", e.message()),
                            });
                        }
                    }
                }
            }
            Kind::TfVars => {
                // values only: a tfvars file that does not parse is Terraform's to report
                if let Ok(body) = hcl::edit::parser::parse_body(&src.text) {
                    tfvars.push((src, body));
                }
            }
            Kind::Json => {
                if !looks_relevant(&src.text) {
                    continue;
                }
                out.files += 1;
                match parse_json(&src.text, 0) {
                    Ok(node) => json_documents(&src, &node, &mut out.inventory),
                    Err(e) => {
                        let (line, column) = src.position(e.offset);
                        out.malformed.push(Malformed {
                            path: src.path.clone(),
                            line,
                            column,
                            reason: format!("JSON: {}", e.message),
                        });
                    }
                }
            }
            Kind::OctoSts => {
                out.files += 1;
                octo_sts(&src, &p, &mut out);
            }
            Kind::Workflow => {
                if src.text.contains("hashicorp/vault-action") {
                    vault_action_uses(&src, &mut out.inventory);
                }
            }
        }
    }
    module_values(&mut terraform, &tfvars);
    terraform_documents(&terraform, &mut out);
    out
}

enum Kind {
    Terraform,
    TfVars,
    Json,
    OctoSts,
    Workflow,
}

fn kind_of(p: &Path) -> Option<Kind> {
    let name = p.file_name()?.to_str()?;
    let parent = p
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    let grand = p
        .parent()
        .and_then(Path::parent)
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str());
    if name.ends_with(".tf") {
        Some(Kind::Terraform)
    } else if name == "terraform.tfvars" || name.ends_with(".auto.tfvars") {
        Some(Kind::TfVars)
    } else if name.ends_with(".json") {
        Some(Kind::Json)
    } else if (name.ends_with(".sts.yaml") || name.ends_with(".sts.yml"))
        && parent == Some("chainguard")
    {
        Some(Kind::OctoSts)
    } else if (name.ends_with(".yml") || name.ends_with(".yaml"))
        && parent == Some("workflows")
        && grand == Some(".github")
    {
        Some(Kind::Workflow)
    } else {
        None
    }
}

/// `p` relative to `base`, `/`-separated.
fn display_path(base: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        p.display().to_string()
    } else {
        parts.join("/")
    }
}

fn text(src: &SrcFile, n: &Node) -> Option<Text> {
    n.text().map(|v| Text {
        value: v.to_string(),
        loc: src.loc(&n.span),
    })
}

fn texts(src: &SrcFile, n: Option<&Node>) -> Vec<Text> {
    n.map(|n| {
        n.scalars()
            .into_iter()
            .filter_map(|s| text(src, s))
            .collect()
    })
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// JSON documents

/// Finds every trust document inside a JSON value, at any depth (CloudFormation templates,
/// `aws iam get-role` output, and bare policies alike).
fn json_documents(src: &SrcFile, node: &Node, inv: &mut Inventory) {
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

fn mapping(n: Option<&Node>) -> Vec<(String, String)> {
    n.map(|m| {
        m.entries()
            .iter()
            .filter_map(|e| Some((e.key.clone(), e.value.text()?.to_string())))
            .collect()
    })
    .unwrap_or_default()
}

/// An IAM policy document (JSON, or Terraform `jsonencode`) as statements.
fn aws_policy_from_node(src: &SrcFile, doc: &Node, resource: String) -> AwsPolicy {
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

fn entry_key(src: &SrcFile, e: &Entry) -> Text {
    Text {
        value: e.key.clone(),
        loc: src.loc(&e.key_span),
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

fn split_commas(values: &mut Vec<Text>) {
    *values = values
        .drain(..)
        .flat_map(|t| {
            t.value
                .split(',')
                .map(|v| Text {
                    value: v.trim().to_string(),
                    loc: t.loc.clone(),
                })
                .filter(|t| !t.value.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
}

fn claims(src: &SrcFile, n: Option<&Node>) -> Vec<(Text, Vec<Text>)> {
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

// ---------------------------------------------------------------------------------------------
// Terraform

/// Names Terraform objects resolve through: OIDC providers (for `Principal.Federated`
/// references) and Vault JWT backends (for a role's issuer).
#[derive(Default)]
struct Symbols {
    /// `aws_iam_openid_connect_provider.github` -> `token.actions.githubusercontent.com`.
    oidc_providers: HashMap<String, String>,
    /// backend reference or mount path -> issuer.
    vault_backends: HashMap<String, String>,
}

fn labels(b: &Block) -> (String, String) {
    let l: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
    (
        l.first().unwrap_or(&"").to_string(),
        l.get(1).unwrap_or(&"").to_string(),
    )
}

fn attr_str(body: &Body, key: &str) -> Option<String> {
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
    for (_, body) in files {
        for b in body.blocks() {
            let (ty, name) = labels(b);
            let prefix = if b.ident.as_str() == "data" {
                "data."
            } else {
                ""
            };
            match ty.as_str() {
                "aws_iam_openid_connect_provider" => {
                    if let Some(url) = attr_str(&b.body, "url") {
                        s.oidc_providers
                            .insert(format!("{prefix}{ty}.{name}"), strip_scheme(&url));
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

fn terraform_documents(files: &[(SrcFile, Body)], out: &mut Collected) {
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

fn attr_node(src: &SrcFile, body: &Body, key: &str) -> Option<Node> {
    body.get_attribute(key).map(|a| hcl_node(src, &a.value))
}

fn attr_text(src: &SrcFile, body: &Body, key: &str) -> Option<Text> {
    attr_node(src, body, key).and_then(|n| text(src, &n))
}

fn span_of(e: &impl Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

/// A Terraform expression as a [`Node`]: literals, lists and objects become values; a
/// template keeps its text between the quotes (`repo:${var.org}/*`); anything else keeps its
/// source text.
fn hcl_node(src: &SrcFile, e: &Expression) -> Node {
    let span = span_of(e);
    let source = || {
        src.text
            .get(span.clone())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    if let Some(v) = reference_key(e).and_then(|k| src.tf_values.as_ref()?.get(&k).cloned()) {
        return placed(&v, &span);
    }
    let val = match e {
        Expression::String(s) => Val::Str(s.value().to_string()),
        Expression::StringTemplate(_) => {
            let raw = source();
            let inner = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(&raw);
            Val::Str(interpolate(src, inner))
        }
        Expression::Array(items) => Val::List(items.iter().map(|i| hcl_node(src, i)).collect()),
        Expression::Object(obj) => Val::Map(
            obj.iter()
                .map(|(k, v)| {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_string(),
                        ObjectKey::Expression(ke) => {
                            let n = hcl_node(src, ke);
                            n.text().unwrap_or_default().to_string()
                        }
                    };
                    Entry {
                        key,
                        key_span: span_of(k),
                        value: hcl_node(src, v.expr()),
                    }
                })
                .collect(),
        ),
        Expression::Parenthesis(p) => return hcl_node(src, p.inner()),
        Expression::FuncCall(f)
            if matches!(f.name.name.as_str(), "tolist" | "toset" | "jsonencode")
                && f.args.len() == 1 =>
        {
            return hcl_node(src, f.args.iter().next().expect("one argument"));
        }
        _ => Val::Other(source()),
    };
    Node { span, val }
}

/// The directory of a display path: a Terraform module.
fn module_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// What `var.NAME` and `local.NAME` stand for in each module: a variable's `default`, replaced
/// by `terraform.tfvars` and `*.auto.tfvars` in the module's directory (Terraform's own order),
/// and `locals` evaluated over those. A value keysweep cannot evaluate stays as its source text.
fn module_values(files: &mut [(SrcFile, Body)], tfvars: &[(SrcFile, Body)]) {
    let mut by_module: HashMap<String, HashMap<String, Val>> = HashMap::new();
    for (src, body) in files.iter() {
        let m = by_module
            .entry(module_of(&src.path).to_string())
            .or_default();
        for b in body.get_blocks("variable") {
            let (name, _) = labels(b);
            if let Some(d) = b.body.get_attribute("default") {
                m.insert(format!("var.{name}"), hcl_node(src, &d.value).val);
            }
        }
    }
    // `terraform.tfvars` first, then `*.auto.tfvars` in lexical order (the walk is sorted)
    let mut ordered: Vec<&(SrcFile, Body)> = tfvars.iter().collect();
    ordered.sort_by_key(|(s, _)| {
        let name = s.path.rsplit('/').next().unwrap_or(&s.path);
        (name != "terraform.tfvars", s.path.clone())
    });
    for (src, body) in ordered {
        let m = by_module
            .entry(module_of(&src.path).to_string())
            .or_default();
        for a in body.attributes() {
            m.insert(
                format!("var.{}", a.key.as_str()),
                hcl_node(src, &a.value).val,
            );
        }
    }
    // locals may use variables and other locals: a few rounds settle any chain worth writing
    for _ in 0..4 {
        for (src, body) in files.iter_mut() {
            let module = module_of(&src.path).to_string();
            src.tf_values = by_module.get(&module).cloned().map(std::sync::Arc::new);
            let mut found = Vec::new();
            for b in body.get_blocks("locals") {
                for a in b.body.attributes() {
                    found.push((
                        format!("local.{}", a.key.as_str()),
                        hcl_node(src, &a.value).val,
                    ));
                }
            }
            by_module.entry(module).or_default().extend(found);
        }
    }
    for (src, _) in files.iter_mut() {
        src.tf_values = by_module
            .get(module_of(&src.path))
            .cloned()
            .map(std::sync::Arc::new);
    }
}

/// `var.NAME` / `local.NAME` as a key of [`SrcFile::tf_values`], for a plain reference.
fn reference_key(e: &Expression) -> Option<String> {
    let Expression::Traversal(t) = e else {
        return None;
    };
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let root = root.value().as_str();
    if !matches!(root, "var" | "local") || t.operators.len() != 1 {
        return None;
    }
    match t.operators[0].value() {
        hcl::edit::expr::TraversalOperator::GetAttr(name) => {
            Some(format!("{root}.{}", name.value().as_str()))
        }
        _ => None,
    }
}

/// A module value placed where it is used: every span is the use's.
fn placed(val: &Val, span: &Range<usize>) -> Node {
    let mut n = Node {
        span: span.clone(),
        val: val.clone(),
    };
    n.flatten_spans(span);
    n
}

/// A template's text with `${var.NAME}` / `${local.NAME}` replaced by their string values;
/// anything else stays as written.
fn interpolate(src: &SrcFile, template: &str) -> String {
    let Some(values) = src.tf_values.as_ref() else {
        return template.to_string();
    };
    static REF: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = REF.get_or_init(|| {
        regex::Regex::new(r"\$\{\s*((?:var|local)\.[A-Za-z_][A-Za-z0-9_-]*)\s*\}")
            .expect("static regex")
    });
    re.replace_all(template, |c: &regex::Captures| match values.get(&c[1]) {
        Some(Val::Str(s)) => s.clone(),
        _ => c[0].to_string(),
    })
    .into_owned()
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
            let reference = v.trim_start_matches("${").trim_end_matches('}');
            let reference = reference.strip_suffix(".arn").unwrap_or(reference);
            syms.oidc_providers.get(reference).cloned()
        });
    }
}

// ---------------------------------------------------------------------------------------------
// YAML: octo-sts trust policies and workflows

/// The location of a top-level `key:` line (YAML values carry no spans here).
fn yaml_key_loc(src: &SrcFile, key: &str) -> Option<Loc> {
    let mut offset = 0;
    for line in src.text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if line.len() == trimmed.len()
            && trimmed.starts_with(key)
            && trimmed[key.len()..].trim_start().starts_with(':')
        {
            let end = offset + line.trim_end().len();
            return Some(src.loc(&(offset..end)));
        }
        offset += line.len();
    }
    None
}

fn yaml_str(v: &yaml_serde::Value) -> Option<String> {
    match v {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn octo_sts(src: &SrcFile, abs: &Path, out: &mut Collected) {
    let doc: yaml_serde::Value = match yaml_serde::from_str(&src.text) {
        Ok(v) => v,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            out.malformed.push(Malformed {
                path: src.path.clone(),
                line,
                column,
                reason: format!("YAML: {e}"),
            });
            return;
        }
    };
    let Some(map) = doc.as_mapping() else {
        out.malformed.push(Malformed {
            path: src.path.clone(),
            line: 1,
            column: 1,
            reason: "an octo-sts trust policy must be a YAML mapping".into(),
        });
        return;
    };
    let whole = src.whole();
    let field = |key: &str| -> Option<Text> {
        let v = yaml_str(map.get(key)?)?;
        Some(Text {
            value: v,
            loc: yaml_key_loc(src, key).unwrap_or_else(|| whole.clone()),
        })
    };
    let repositories = map.get("repositories").map(|v| {
        let loc = yaml_key_loc(src, "repositories").unwrap_or_else(|| whole.clone());
        v.as_sequence()
            .map(|seq| {
                seq.iter()
                    .filter_map(yaml_str)
                    .map(|value| Text {
                        value,
                        loc: loc.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    // An org-level policy lives in the organisation's `.github` repository:
    // `<repo .github>/.github/chainguard/NAME.sts.yaml`.
    let repo_dir = std::fs::canonicalize(abs)
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(Path::to_path_buf));
    let in_dot_github_repo = repo_dir
        .as_deref()
        .and_then(Path::file_name)
        .is_some_and(|n| n == ".github");
    let claim_patterns = map
        .get("claim_pattern")
        .and_then(|v| v.as_mapping())
        .map(|m| {
            let loc = yaml_key_loc(src, "claim_pattern").unwrap_or_else(|| whole.clone());
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        yaml_str(k)?,
                        Text {
                            value: yaml_str(v)?,
                            loc: loc.clone(),
                        },
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.inventory.octo_sts.push(OctoStsPolicy {
        resource: src.path.rsplit('/').next().unwrap_or(&src.path).to_string(),
        loc: whole.clone(),
        issuer: field("issuer"),
        issuer_pattern: field("issuer_pattern"),
        subject: field("subject"),
        subject_pattern: field("subject_pattern"),
        org_level: in_dot_github_repo || repositories.is_some(),
        repositories,
        repositories_loc: yaml_key_loc(src, "repositories"),
        claim_patterns,
    });
}

/// `hashicorp/vault-action` steps with `method: jwt`: the role and the audience they ask for.
fn vault_action_uses(src: &SrcFile, inv: &mut Inventory) {
    let Ok(doc) = yaml_serde::from_str::<yaml_serde::Value>(&src.text) else {
        return; // Not ours to report: `keysweep scan` reports broken workflows.
    };
    // Step locations: the n-th `hashicorp/vault-action` in the text is the n-th step using it.
    let mut occurrences = src
        .text
        .match_indices("hashicorp/vault-action")
        .map(|(i, m)| i..i + m.len());
    let Some(jobs) = doc.get("jobs").and_then(|j| j.as_mapping()) else {
        return;
    };
    for (_, job) in jobs {
        let Some(steps) = job.get("steps").and_then(|s| s.as_sequence()) else {
            continue;
        };
        for step in steps {
            let uses = step.get("uses").and_then(yaml_str).unwrap_or_default();
            if !uses.starts_with("hashicorp/vault-action") {
                continue;
            }
            let loc = occurrences
                .next()
                .map_or_else(|| src.whole(), |span| src.loc(&span));
            let with = step.get("with");
            let input = |k: &str| with.and_then(|w| w.get(k)).and_then(yaml_str);
            if input("method").as_deref() != Some("jwt") {
                continue;
            }
            let explicit = input("jwtGithubAudience");
            inv.vault_action_uses.push(VaultActionUse {
                loc,
                role: input("role"),
                audience_explicit: explicit.is_some(),
                audience: explicit.unwrap_or_else(|| VAULT_ACTION_DEFAULT_AUDIENCE.to_string()),
            });
        }
    }
}
