//! `github-pat`: a personal access token where the job's GITHUB_TOKEN or a federated token
//! (octo-sts) would do.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, Hit, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::{CiSystem, PipelineFinding, Provider};

pub struct GithubPat;

const TOKEN_INPUTS: &[(&str, &str)] = &[
    ("actions/checkout", "token"),
    ("peter-evans/create-pull-request", "token"),
    ("peter-evans/create-or-update-comment", "token"),
    ("peter-evans/repository-dispatch", "token"),
    ("peter-evans/enable-pull-request-automerge", "token"),
    ("actions/github-script", "github-token"),
    ("softprops/action-gh-release", "token"),
    ("ncipollo/release-action", "token"),
    ("ad-m/github-push-action", "github_token"),
    ("endbug/add-and-commit", "github_token"),
    ("actions/labeler", "repo-token"),
    ("actions/stale", "repo-token"),
    ("googleapis/release-please-action", "token"),
    ("jamesives/github-pages-deploy-action", "token"),
    ("mikepenz/release-changelog-builder-action", "token"),
    ("peter-evans/create-issue-from-file", "token"),
];

/// Input names that say "a GitHub token" whatever the action: a secret other than the job's
/// own token passed to one is a PAT (or an App key's token) used by CI.
const GITHUB_NAMED_INPUTS: &[&str] = &[
    "github_token",
    "github-token",
    "gh_token",
    "gh-token",
    "repo-token",
    "repo_token",
    "personal_token",
    "personal-token",
    "personal-access-token",
    "personal_access_token",
];

/// Every action of the workflow that takes a GitHub-named token input (other than the pairs
/// [`TOKEN_INPUTS`] lists already).
fn github_named_input_hits(ctx: &WorkflowContext) -> Vec<super::util::Hit> {
    let mut slugs: Vec<&str> = ctx
        .jobs
        .iter()
        .flat_map(|j| &j.steps)
        .filter_map(|s| s.uses_slug())
        // local actions are followed into their steps (cross_file), which says more
        .filter(|slug| !slug.starts_with("./"))
        .collect();
    slugs.sort_unstable();
    slugs.dedup();
    let mut out = Vec::new();
    for slug in slugs {
        let inputs: Vec<&str> = GITHUB_NAMED_INPUTS
            .iter()
            .copied()
            .filter(|i| !TOKEN_INPUTS.iter().any(|(a, n)| *a == slug && n == i))
            .collect();
        out.extend(input_hits(ctx, &[slug], &inputs));
    }
    out
}

const READERS: Readers<'static> = Readers {
    commands: &[
        &["gh"],
        &["hub"],
        &["git", "push"],
        &["semantic-release"],
        &["goreleaser"],
        &["release-please"],
    ],
    actions: &[
        "release-drafter/release-drafter",
        "goreleaser/goreleaser-action",
        "cli/gh-extension-precompile",
    ],
};

/// Does a script reach past the workflow's own repository with `gh` — organisation or user
/// Projects, `--repo` naming another repository, `gh api orgs/...`? GITHUB_TOKEN cannot.
fn script_reaches_beyond_repo(script: &str) -> bool {
    script.lines().any(|line| {
        let w = crate::pipeline::shell::words(line);
        let Some(at) = w.iter().position(|x| x == "gh") else {
            return false;
        };
        let rest = &w[at + 1..];
        let own = |v: &str| v.contains("github.repository") || v.contains("GITHUB_REPOSITORY");
        rest.first().is_some_and(|c| c == "project")
            || crate::pipeline::shell::flag_value(rest, &["--repo", "-R"]).is_some_and(|r| !own(&r))
            || (rest.first().is_some_and(|c| c == "api")
                && rest
                    .iter()
                    .skip(1)
                    .any(|a| a.trim_start_matches('/').starts_with("orgs/")))
    })
}

fn migration(ctx: &WorkflowContext, hit: &Hit) -> Migration {
    let (action, cross_repo, script_beyond) = match (hit.job, hit.step) {
        (Some(j), Some(s)) => {
            let st = &ctx.jobs[j].steps[s];
            let other = ["repository", "external_repository", "repository-name"]
                .iter()
                .filter_map(|i| st.input(i))
                .any(|b| !b.value.contains("github.repository"));
            let script: Vec<&str> = st.script_parts().iter().map(|p| p.text.as_str()).collect();
            (
                st.uses_slug().unwrap_or("").to_string(),
                other,
                script_reaches_beyond_repo(&script.join("\n")),
            )
        }
        _ => (String::new(), false, false),
    };
    if cross_repo {
        return Migration::oidc(
            "a federated token scoped to the other repository (octo-sts `scope`/`identity` with a trust policy in that repository), or a GitHub App installation token",
        );
    }
    if script_beyond {
        return Migration::oidc(
            "a token scoped to what the script reaches beyond this repository (another repository, or organisation Projects, which GITHUB_TOKEN cannot reach): octo-sts with a trust policy there, or a GitHub App installation token (`actions/create-github-app-token`)",
        );
    }
    let m =
        Migration::oidc("the job's GITHUB_TOKEN with the narrowest `permissions:` the step needs");
    if action.starts_with("peter-evans/create-pull-request") || action == "ad-m/github-push-action"
    {
        return m.blocked("events created with GITHUB_TOKEN do not trigger other workflows; if CI must run on the result, use octo-sts or a GitHub App token instead of a PAT");
    }
    m
}

impl Audit for GithubPat {
    fn id(&self) -> AuditId {
        AuditId::GithubPat
    }
    fn title(&self) -> &'static str {
        "GitHub personal access token used by CI"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        if ctx.ci == CiSystem::GitlabCi {
            // a GitHub token in GitLab CI is cross-forge: no OIDC exchange between the two
            let hits = env_hits(ctx, &["GH_TOKEN", "GITHUB_TOKEN"], &READERS);
            let m = Migration::oidc("a federated token from octo-sts trusting this GitLab instance's id_tokens, or a GitHub App installation token");
            return hits
                .iter()
                .map(|h| finding(ctx, self.id(), self.title(), Provider::Github, h, &m))
                .collect();
        }
        let mut hits = Vec::new();
        for (action, input) in TOKEN_INPUTS {
            hits.extend(input_hits(ctx, &[action], &[input]));
        }
        hits.extend(github_named_input_hits(ctx));
        hits.extend(env_hits(
            ctx,
            &["GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN"],
            &READERS,
        ));
        hits.extend(
            command_hits(ctx, |_, text| {
                (text.contains("@github.com") && text.contains("https://"))
                    .then(|| super::util::CmdMatch::new("git over https://TOKEN@github.com"))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        hits.extend(
            command_hits(ctx, |w, _| {
                (super::util::seq(w, &["gh", "auth", "login"])
                    && w.iter().any(|x| x == "--with-token"))
                .then(|| super::util::CmdMatch::new("gh auth login --with-token"))
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        hits.iter()
            .map(|h| {
                finding(
                    ctx,
                    self.id(),
                    self.title(),
                    Provider::Github,
                    h,
                    &migration(ctx, h),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::script_reaches_beyond_repo as beyond;

    #[test]
    fn scripts_that_reach_past_the_repository() {
        assert!(beyond(
            "gh project item-add 7 --owner example-org --url \"$ISSUE\""
        ));
        assert!(beyond("gh pr create -R example-org/website --fill"));
        assert!(beyond("gh api /orgs/example-org/teams"));
        assert!(!beyond("gh issue comment \"$ISSUE\" --body hi"));
        assert!(!beyond("gh pr create --repo \"$GITHUB_REPOSITORY\" --fill"));
        assert!(!beyond(
            "gh release create v1 --repo ${{ github.repository }}"
        ));
    }
}
