//! The "depth" part of the accuracy corpus: secrets that are encoded, split across
//! concatenated literals or wrapped in a container format, each class with hard negatives in
//! the same shapes. Files go under `depth/<class>/`; the planted secret is what a scanner
//! should report (the DECODED value), so it is usually not in the file verbatim: `encoded`
//! checks say how it is.
//!
//! std-only like `corpus.rs` (included next to it with `#[path]`); all values are synthetic.

use super::corpus::{
    base64, crc_token, looks_placeholder, private_key_pem, public_pem, Planted, Rng, B62,
};
use std::fs;
use std::io;
use std::path::Path;

/// The classes, in table order.
pub const CLASSES: [&str; 15] = [
    "k8s-secret-base64",
    "docker-config-auth",
    "base64-pem",
    "base64-token",
    "percent-encoded",
    "escaped-literal",
    "concatenated",
    "concatenated-pem",
    "joined-literals",
    "encrypted-key",
    "short-password",
    "cli-password",
    "url-credentials",
    "nkey-seed",
    "bare-key-body",
];

/// Files per class.
const PER_CLASS: usize = 14;

fn password(rng: &mut Rng, lo: usize, hi: usize) -> String {
    let n = rng.range(lo, hi);
    loop {
        let s = rng.chars(B62, n);
        let b = s.as_bytes();
        if b.iter().any(u8::is_ascii_uppercase)
            && b.iter().any(u8::is_ascii_lowercase)
            && b.iter().any(u8::is_ascii_digit)
            && !looks_placeholder(&s)
        {
            return s;
        }
    }
}

fn b64(s: &str) -> String {
    base64(s.as_bytes(), false, true)
}

fn github_token(rng: &mut Rng) -> String {
    let body = rng.chars(B62, 30);
    crc_token("ghp_", &body)
}

fn stripe_key(rng: &mut Rng) -> String {
    format!("sk_live_{}", password(rng, 24, 32))
}

/// A Stripe or GitHub token and where to cut it in two pieces.
fn split_token(rng: &mut Rng) -> (String, usize) {
    let tok = if rng.chance(0.5) {
        stripe_key(rng)
    } else {
        github_token(rng)
    };
    let cut = rng.range(6, tok.len() - 6);
    (tok, cut)
}

const USERS: [&str; 5] = ["deploy", "ci-bot", "svc-build", "release", "registry-pull"];
const APPS: [&str; 6] = [
    "billing", "ledger", "orders", "gateway", "search", "notifier",
];

/// One file of a class: (relative path, contents, planted secrets).
fn gen_file(class: &str, i: usize, rng: &mut Rng) -> (String, String, Vec<String>) {
    let app = *rng.pick(&APPS);
    let user = *rng.pick(&USERS);
    match class {
        "k8s-secret-base64" => {
            let pw = password(rng, 14, 24);
            let key = rng.pick(&[
                "DB_PASSWORD",
                "password",
                "POSTGRES_PASSWORD",
                "api-token",
                "SMTP_PASSWORD",
            ]);
            let text = format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {app}-credentials\n  namespace: {app}\n  labels:\n    app.kubernetes.io/name: {app}\ntype: Opaque\ndata:\n  username: {}\n  host: {}\n  {key}: {}\n  config.yaml: {}\n",
                b64(user),
                b64(&format!("{app}-db.internal.svc.cluster.local")),
                b64(&pw),
                // Hard negative: a config file with no secret, base64-wrapped.
                b64(&format!("log_level: info\nreplicas: 3\nregion: eu-west-1\nservice: {app}\n")),
            );
            (format!("k8s/{app}-{i}/secret.yaml"), text, vec![pw])
        }
        "docker-config-auth" => {
            let pw = password(rng, 16, 28);
            let host = format!("registry.{app}.example.test");
            let text = if rng.chance(0.5) {
                format!(
                    "{{\n  \"auths\": {{\n    \"{host}\": {{\n      \"auth\": \"{}\"\n    }},\n    \"https://index.docker.io/v1/\": {{}}\n  }},\n  \"credsStore\": \"desktop\",\n  \"currentContext\": \"default\"\n}}\n",
                    b64(&format!("{user}:{pw}"))
                )
            } else {
                // A kubernetes.io/dockerconfigjson Secret: the config itself base64-wrapped.
                let cfg = format!(
                    "{{\"auths\":{{\"{host}\":{{\"auth\":\"{}\"}}}}}}",
                    b64(&format!("{user}:{pw}"))
                );
                format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {app}-pull\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {}\n",
                    b64(&cfg)
                )
            };
            let path = if text.starts_with('{') {
                format!("docker/{app}-{i}/config.json")
            } else {
                format!("k8s/{app}-{i}/pull-secret.yaml")
            };
            (path, text, vec![format!("{user}:{pw}")])
        }
        "base64-pem" => {
            let kind = rng.below(4);
            let pem = private_key_pem(rng, kind);
            let crt = public_pem(rng, 1);
            let text = format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {app}-tls\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
                b64(&format!("{crt}\n")),
                b64(&format!("{pem}\n"))
            );
            (format!("k8s/{app}-{i}/tls.yaml"), text, vec![pem])
        }
        "base64-token" => {
            let tok = if rng.chance(0.5) {
                github_token(rng)
            } else {
                stripe_key(rng)
            };
            // Hard negative: a token-shaped value whose checksum fails, base64-wrapped.
            let mut bad = github_token(rng);
            let last = if bad.ends_with('A') { "B" } else { "A" };
            bad.replace_range(bad.len() - 1.., last);
            let text = if rng.chance(0.5) {
                format!(
                    "# {app} CI settings (values are base64)\nexport CI_NOTIFY_B64={}\nexport CI_VAULT_BLOB={}\nexport CI_LABEL_B64={}\n",
                    b64(&tok),
                    b64(&bad),
                    b64(&format!("team={app}; owner=platform")),
                )
            } else {
                format!(
                    "{{\n  \"name\": \"{app}\",\n  \"settings\": \"{}\",\n  \"legacy\": \"{}\",\n  \"blob\": \"{}\"\n}}\n",
                    b64(&format!("notify={tok}")),
                    b64(&format!("key={bad}")),
                    base64(&rng.bytes(48), false, true),
                )
            };
            (format!("config/{app}-{i}/settings.env"), text, vec![tok])
        }
        "percent-encoded" => {
            let pw = password(rng, 20, 32);
            let text = format!(
                "# {app} callback fixtures\ncallback = \"https://{app}.example.test/oauth/cb?state=%7B%22client_secret%22%3A%22{pw}%22%2C%22v%22%3A1%7D\"\nsearch = \"https://{app}.example.test/search?q=red%20shoes%20size%2042&page=2&sort=price%3Aasc\"\n"
            );
            (format!("fixtures/{app}-{i}/urls.toml"), text, vec![pw])
        }
        "escaped-literal" => {
            let tok = github_token(rng);
            let esc: String = tok.bytes().map(|b| format!("\\x{b:02x}")).collect();
            let uesc: String = tok
                .char_indices()
                .map(|(j, c)| {
                    if j < 6 {
                        format!("\\u{:04x}", c as u32)
                    } else {
                        c.to_string()
                    }
                })
                .collect();
            let text = if rng.chance(0.5) {
                format!(
                    "const WORD_RE = /\\w+\\s*\\d+/;\nconst banner = \"\\x1b[1m{app}\\x1b[0m\";\nconst notifyToken = \"{esc}\";\n"
                )
            } else {
                format!("{{\"service\": \"{app}\", \"title\": \"caf\\u00e9 \\u2014 menu\", \"deploy_token\": \"{uesc}\"}}\n")
            };
            (format!("src/{app}-{i}/config.js"), text, vec![tok])
        }
        "concatenated" => {
            let (tok, cut) = split_token(rng);
            let (a, b) = tok.split_at(cut);
            let (path, text) = match i % 6 {
                0 => ("Client.java", format!("class Client {{\n    private static final String GREETING = \"Hello, \" + \"world\";\n    private static final String KEY = \"{a}\" + \"{b}\";\n}}\n")),
                1 => ("client.js", format!("const base = 'https://' + '{app}.example.test';\nconst key = '{a}' +\n  '{b}';\n")),
                2 => ("client.py", format!("BASE = (\"https://\"\n        \"{app}.example.test\")\nKEY = (\"{a}\"\n       \"{b}\")\n")),
                3 => ("client.php", format!("<?php\n$base = 'https://' . '{app}.example.test';\n$key = '{a}' . '{b}';\n")),
                4 => ("client.lua", format!("local base = \"https://\" .. \"{app}.example.test\"\nlocal key = \"{a}\" .. \"{b}\"\n")),
                _ => ("Client.vb", format!("Dim Base As String = \"https://\" & \"{app}.example.test\"\nDim Key As String = \"{a}\" & \"{b}\"\n")),
            };
            (format!("src/{app}-{i}/{path}"), text, vec![tok])
        }
        "joined-literals" => {
            let (tok, cut) = split_token(rng);
            let (a, b) = tok.split_at(cut);
            // Each file also joins harmless literals (a path, a greeting): hard negatives.
            let (path, text) = match i % 8 {
                6 => ("client.ts", format!("const base = `https://${{host}}/v1`;\nexport const apiKey = `{a}${{'{b}'}}`;\n")),
                7 => ("Client.kt", format!("val base = \"https://${{host}}/v1\"\nval apiKey = \"${{\"{a}\"}}{b}\"\n")),
                0 => ("Client.java", format!("class Client {{\n    static final String BASE = String.join(\"/\", \"https:\", \"\", \"{app}.example.test\");\n    static final String KEY = String.join(\"\", \"{a}\", \"{b}\");\n}}\n")),
                1 => ("Client.cs", format!("static class Client {{\n    const string Greeting = \"hello\";\n    static readonly string Path = string.Join(\"/\", new[] {{ \"var\", \"lib\", \"{app}\" }});\n    static readonly string Key = string.Join(\"\", new[] {{ \"{a}\", \"{b}\" }});\n}}\n")),
                2 => ("client.go", format!("package client\n\nvar base = strings.Join([]string{{\"https://\", \"{app}.example.test\"}}, \"\")\nvar apiKey = strings.Join([]string{{\"{a}\", \"{b}\"}}, \"\")\n")),
                3 => ("client.py", format!("BASE = \"/\".join([\"\", \"srv\", \"{app}\", \"data\"])\nAPI_KEY = \"\".join([\"{a}\", \"{b}\"])\n")),
                4 => ("client.js", format!("const base = ['https://', '{app}.example.test'].join('');\nconst apiKey = [\n  '{a}',\n  '{b}',\n].join('');\n")),
                _ => ("client.php", format!("<?php\n$base = implode('/', ['https:', '', '{app}.example.test']);\n$apiKey = implode('', ['{a}', '{b}']);\n")),
            };
            (format!("src/{app}-{i}/{path}"), text, vec![tok])
        }
        "concatenated-pem" => {
            let kind = rng.below(4);
            let pem = private_key_pem(rng, kind);
            let crt = public_pem(rng, 1);
            let lit = |p: &str, sep: &str, indent: &str| -> String {
                p.lines()
                    .map(|l| format!("\"{l}\\n\""))
                    .collect::<Vec<_>>()
                    .join(&format!("{sep}\n{indent}"))
            };
            let (path, text) = match i % 6 {
                0 => ("KeyFixture.java", format!("class KeyFixture {{\n  static final String CERT =\n      {};\n  static final String KEY =\n      {};\n}}\n", lit(&crt, " +", "      "), lit(&pem, " +", "      "))),
                1 => ("KeyFixture.kt", format!("object KeyFixture {{\n    const val KEY =\n        {}\n}}\n", lit(&pem, " +", "        "))),
                2 => ("keys.js", format!("export const cert =\n  {};\nexport const key =\n  {};\n", lit(&crt, " +", "  "), lit(&pem, " +", "  "))),
                3 => ("keys.py", format!("KEY = (\n    {}\n)\n", lit(&pem, "", "    "))),
                4 => ("keys.go", format!("package keys\n\nconst key = {}\n", lit(&pem, " +", "\t"))),
                _ => ("Keys.cs", format!("static class Keys {{\n    public const string Key =\n        {};\n}}\n", lit(&pem, " +", "        "))),
            };
            (format!("src/{app}-{i}/{path}"), text, vec![pem])
        }
        "short-password" => {
            let pw = password(rng, 7, 11);
            let (path, text) = match i % 7 {
                0 => (".env", format!("APP_ENV=production\nDB_HOST={app}-db\nDB_PASSWORD={pw}\nDB_PASSWORD_FILE=/run/secrets/db\nPASSWORD_MIN_LENGTH=12\n")),
                1 => ("docker-compose.yml", format!("services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: {app}\n      POSTGRES_PASSWORD: {pw}\n  app:\n    environment:\n      DB_PASSWORD: ${{DB_PASSWORD}}\n")),
                2 => ("src/main/resources/application.yml", format!("spring:\n  datasource:\n    url: jdbc:postgresql://db:5432/{app}\n    username: {app}\n    password: {pw}\n  mail:\n    password: ${{MAIL_PASSWORD:}}\n")),
                3 => ("config/database.json", format!("{{\n  \"production\": {{\n    \"host\": \"{app}-db\",\n    \"password\": \"{pw}\",\n    \"passwordPolicy\": \"strong\"\n  }}\n}}\n")),
                4 => ("settings.py", format!("DATABASES = {{\n    'default': {{\n        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': '{app}',\n        'PASSWORD': '{pw}',\n    }}\n}}\nAUTH_PASSWORD_VALIDATORS = []\n")),
                5 => ("Web.config", format!("<configuration>\n  <connectionStrings>\n    <add name=\"Main\" connectionString=\"Server=db;Database={app};User Id={app};Password={pw};\" />\n  </connectionStrings>\n  <appSettings>\n    <add key=\"PasswordHint\" value=\"Use a strong one\" />\n  </appSettings>\n</configuration>\n")),
                _ => ("config/app.properties", format!("db.url=jdbc:mysql://db/{app}\ndb.user={app}\ndb.password={pw}\nldap.password=${{LDAP_PASSWORD}}\n")),
            };
            (format!("{app}-{i}/{path}"), text, vec![pw])
        }
        "cli-password" => {
            let pw = password(rng, 9, 16);
            let (path, text) = match i % 5 {
                0 => ("scripts/backup.sh", format!("#!/bin/sh\nset -e\nmysqldump -u root -p{pw} {app} > /backup/{app}.sql\nmysql -u root -p\"$MYSQL_ROOT_PASSWORD\" -e 'select 1'\n")),
                1 => ("scripts/deploy.sh", format!("#!/bin/sh\nsshpass -p '{pw}' ssh deploy@10.0.3.7 ./restart.sh\nsshpass -p \"$SSHPASS\" scp app.tar deploy@10.0.3.8:/srv\n")),
                2 => ("db/init.sql", format!("CREATE USER '{app}'@'%' IDENTIFIED BY '{pw}';\nCREATE USER 'ro'@'%' IDENTIFIED BY '${{RO_PASSWORD}}';\nGRANT SELECT ON {app}.* TO 'ro'@'%';\n")),
                3 => ("deploy/Setup.ps1", format!("$cred = New-Object PSCredential('svc', (ConvertTo-SecureString \"{pw}\" -AsPlainText -Force))\n$other = ConvertTo-SecureString $env:SVC_PASSWORD -AsPlainText -Force\n")),
                _ => ("ops/cache.sh", format!("redis-cli -h cache.internal -a {pw} FLUSHALL\nredis-cli -a \"$REDIS_PASSWORD\" ping\n")),
            };
            (format!("{app}-{i}/{path}"), text, vec![pw])
        }
        "url-credentials" => {
            let pw = password(rng, 12, 20);
            let scheme = *rng.pick(&[
                "nats", "mqtts", "ssh", "sftp", "neo4j+s", "kafka", "wss", "smb",
            ]);
            let text = format!(
                "# {app} endpoints\nBROKER_URL={scheme}://{user}:{pw}@{app}.internal.example.test:4222\nDOCS_EXAMPLE={scheme}://username:your-password-here@localhost\nFALLBACK_URL={scheme}://{user}:${{BROKER_PASSWORD}}@{app}.internal.example.test\n"
            );
            (format!("{app}-{i}/config/endpoints.env"), text, vec![pw])
        }
        "nkey-seed" => {
            let seed = nkey(rng, 20 << 3, true);
            let public = nkey(rng, 20 << 3, false);
            // Hard negative: one data character changed, so the CRC fails.
            let mut bad = nkey(rng, 20 << 3, true);
            let at = bad.len() - 10;
            let c = if &bad[at..at + 1] == "Q" { "R" } else { "Q" };
            bad.replace_range(at..at + 1, c);
            let text = if i.is_multiple_of(2) {
                format!(
                    "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.{}.{}\n------END NATS USER JWT------\n\n************************* IMPORTANT *************************\nNKEY Seed printed below can be used to sign and prove identity.\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n",
                    base64(format!("{{\"sub\":\"{public}\",\"name\":\"{app}\"}}").as_bytes(), true, false),
                    password(rng, 40, 44)
                )
            } else {
                format!("authorization {{\n  users = [\n    {{ nkey: {public} }}\n  ]\n}}\n# {app} client\nnkey_seed: \"{seed}\"\nold_seed: \"{bad}\"\n")
            };
            let path = if i.is_multiple_of(2) {
                format!("{app}-{i}/{app}.creds")
            } else {
                format!("{app}-{i}/nats.conf")
            };
            (path, text, vec![seed])
        }
        "bare-key-body" => {
            // A PEM body without its armour in a literal; the public key beside it is not a
            // secret. The scanner shows the key armoured: the planted secret is the body.
            let kind = [0, 1, 3][rng.below(3)];
            let pem = private_key_pem(rng, kind);
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let public = public_pem(rng, 0);
            let pub_body: String = public.lines().filter(|l| !l.starts_with("-----")).collect();
            let text = match i % 3 {
                0 => format!("package com.acme.{app};\n\nfinal class Keys {{\n    static final String PUBLIC_KEY = \"{pub_body}\";\n    static final String SIGNING_KEY = \"{body}\";\n}}\n"),
                1 => format!("const publicKey = '{pub_body}';\nconst signingKey = '{body}';\nmodule.exports = {{ publicKey, signingKey }};\n"),
                _ => format!("{app}:\n  jwt:\n    public: {pub_body}\n    private: {body}\n"),
            };
            // Reported armoured and wrapped at 64: its first line is what the body shares.
            (
                format!("src/{app}-{i}/keys.txt"),
                text,
                vec![body[..64].to_string()],
            )
        }
        _ => {
            // encrypted-key: reported (at low confidence), never as a plain key.
            let body = base64(&rng.bytes(600), false, true);
            let wrapped: Vec<String> = body
                .as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            let pem = format!(
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\n{}\n-----END ENCRYPTED PRIVATE KEY-----",
                wrapped.join("\n")
            );
            (
                format!("certs/{app}-{i}/server.key"),
                format!("{pem}\n"),
                vec![pem],
            )
        }
    }
}

/// A NATS NKEY (seed when `seed`, else public key) of the given type prefix byte: base32 of
/// prefix, 32 random bytes and their CRC-16/XMODEM.
fn nkey(rng: &mut Rng, prefix: u8, seed: bool) -> String {
    let mut raw = if seed {
        vec![(18 << 3) | (prefix >> 5), (prefix & 31) << 3]
    } else {
        vec![prefix]
    };
    raw.extend(rng.bytes(32));
    let mut crc: u16 = 0;
    for &b in &raw {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    raw.extend(crc.to_le_bytes());
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut acc, mut bits) = (String::new(), 0u32, 0u32);
    for b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Writes the depth corpus under `root/depth/` and returns what it planted.
pub fn depth_corpus(root: &Path, seed: u64) -> io::Result<Vec<Planted>> {
    let mut rng = Rng::new(seed ^ 0xdec0de);
    let mut planted = Vec::new();
    for class in CLASSES {
        for i in 0..PER_CLASS {
            let (rel, text, secrets) = gen_file(class, i, &mut rng);
            let path = format!("depth/{class}/{rel}");
            let full = root.join(&path);
            if let Some(dir) = full.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&full, &text)?;
            for secret in secrets {
                planted.push(Planted {
                    path: path.clone(),
                    secret,
                    family: class.to_string(),
                });
            }
        }
    }
    Ok(planted)
}

/// The class of a corpus path, if it is in the depth corpus.
pub fn class_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("depth/")?;
    CLASSES
        .iter()
        .copied()
        .find(|c| rest.starts_with(&format!("{c}/")))
}
