//! `kubernetes-credentials`: a kubeconfig or service-account token stored as a CI secret.

use super::AuditId;

use super::util::{command_hits, env_hits, finding, input_hits, seq, CmdMatch, Migration, Readers};
use super::Audit;
use crate::pipeline::model::WorkflowContext;
use crate::pipeline::shell;
use crate::pipeline::{PipelineFinding, Provider};

pub struct KubernetesCredentials;

const READERS: Readers<'static> = Readers {
    commands: &[
        &["kubectl"],
        &["helm"],
        &["helmfile"],
        &["kustomize"],
        &["argocd"],
        &["flux"],
        &["skaffold"],
        &["kapp"],
    ],
    actions: &[
        "actions-hub/kubectl",
        "wahyd4/kubectl-helm-action",
        "deliverybot/helm",
        "azure/k8s-deploy",
    ],
};

fn migration() -> Migration {
    Migration::oidc(
        "for EKS/GKE/AKS: the cloud's OIDC login, then its get-credentials step (aws eks update-kubeconfig, google-github-actions/get-gke-credentials, azure/aks-set-context); for other clusters: an API server that trusts the CI OIDC issuer (structured authentication configuration)",
    )
    .blocked("keysweep cannot tell which cluster this credential opens; the cluster (or its cloud) must be set up to trust the CI OIDC issuer first")
}

impl Audit for KubernetesCredentials {
    fn id(&self) -> AuditId {
        AuditId::KubernetesCredentials
    }
    fn title(&self) -> &'static str {
        "Kubernetes credential stored as a CI secret"
    }
    fn audit(&self, ctx: &WorkflowContext) -> Vec<PipelineFinding> {
        let mut hits = input_hits(
            ctx,
            &["azure/k8s-set-context"],
            &["kubeconfig", "k8s-secret"],
        );
        hits.extend(input_hits(
            ctx,
            &["tale/kubectl-action"],
            &["base64-kube-config"],
        ));
        hits.extend(input_hits(ctx, &["steebchen/kubectl"], &["config"]));
        hits.extend(env_hits(
            ctx,
            &[
                "KUBE_CONFIG",
                "KUBE_CONFIG_DATA",
                "KUBECONFIG_DATA",
                "KUBECONFIG",
                "KUBECONFIG_FILE",
                "KUBE_TOKEN",
                "K8S_TOKEN",
            ],
            &READERS,
        ));
        hits.extend(
            command_hits(ctx, |w, text| {
                let writes = (text.contains('>') || text.contains("tee "))
                    && (text.contains(".kube/config")
                        || text.to_ascii_lowercase().contains("kubeconfig"));
                if writes {
                    return Some(CmdMatch::new("write kubeconfig"));
                }
                if seq(w, &["kubectl"]) || seq(w, &["helm"]) {
                    if let Some(t) = shell::flag_value(w, &["--token", "--kube-token"]) {
                        return Some(CmdMatch::new("kubectl --token").secret(Some(t)));
                    }
                    if let Some(k) = shell::flag_value(w, &["--kubeconfig"]) {
                        return Some(CmdMatch::new("kubectl --kubeconfig").secret(Some(k)));
                    }
                }
                None
            })
            .into_iter()
            .map(|(h, _)| h),
        );
        let m = migration();
        hits.iter()
            .map(|h| finding(ctx, self.id(), self.title(), Provider::Kubernetes, h, &m))
            .collect()
    }
}
