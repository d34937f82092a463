#!/usr/bin/env bash
# The manual IRSA triage of the seed documents, scripted the way a user would script it today with
# the AWS CLI and kubectl, looped over every IRSA ServiceAccount of a fleet. Run by
# bench/manual-triage.bench.ts (npm run bench:manual) against the local emulator; it can be run
# against real accounts with the same variables.
#
# Input (environment):
#   ACCOUNTS      account ids, space-separated; REGIONS: regions, space-separated
#   ROLE_NAME     the role assumed in each account (as a CLI profile with role_arn would)
#   KUBECTL_AUTH  token: a kubeconfig with a bearer token from `aws eks get-token`, made once per
#                 cluster; exec: the kubeconfig `aws eks update-kubeconfig` writes, where kubectl
#                 runs `aws eks get-token` on every call
#   WORK          a private directory for the kubeconfigs (mode 0700; removed by the caller)
#   the AWS CLI's usual variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_<SERVICE>
#
# What it does (seed 000: the AWS knowledge-center article; 001: "Troubleshooting EKS pods with AWS
# IAM"; 002: "Assuming IAM Roles Using Service Accounts on Amazon EKS"; 003: the EKS user guide's
# "Associate an IAM role to a service account"):
#   per account: aws sts assume-role
#   per region:  aws eks list-clusters
#   per cluster: aws eks describe-cluster (the issuer and the CA: seeds 001 step 1, 002),
#                aws iam list-open-id-connect-providers (the provider of that issuer: 002),
#                aws iam get-open-id-connect-provider (its audiences: 000),
#                aws eks get-token (token mode only; no API call: a presigned URL),
#                kubectl get serviceaccounts -A (which ServiceAccounts name a role)
#   per ServiceAccount, every step of the seeds again, nothing remembered from the previous one:
#     kubectl get serviceaccount NAME -n NS           the role-arn annotation and its format (000, 001 step 3)
#     aws iam get-role                                 the role exists; its trust policy names the
#                                                      cluster's provider, the SA's :sub and the :aud (000, 001 step 2, 002)
#     aws iam list-attached-role-policies              the role has permissions (000, 002)
#     aws iam list-role-policies
#     aws iam get-policy + get-policy-version          each customer-managed policy's default document (002)
#     aws iam get-role-policy                          each inline policy's document
#     kubectl get pods -n NS                           the SA's pods carry AWS_ROLE_ARN (the annotation's
#                                                      role) and AWS_WEB_IDENTITY_TOKEN_FILE (000, 001 step 4, 003 step 5)
#     kubectl get mutatingwebhookconfiguration pod-identity-webhook
#                                                      the webhook is there and its caBundle is the cluster CA (001 step 6)
# Not scripted: reading pod logs and `kubectl exec ... aws sts get-caller-identity` in a test pod
# (000, 001 step 0): they need running containers. The policy documents are read as seed 002 says,
# and printed nowhere: judging them is left to the reader, as in the seeds.
#
# Output: one line per ServiceAccount, `triage <account>/<region>/<cluster> <ns>/<sa>: ok` or the
# problems seen; `triaged <n> service accounts` at the end. Every aws and kubectl process started is
# appended to $WORK/processes (in exec mode, the `aws eks get-token` kubectl starts too). Nothing printed holds a credential or a token.
set -u -o pipefail

: "${ACCOUNTS:?}" "${REGIONS:?}" "${ROLE_NAME:?}" "${WORK:?}"
KUBECTL_AUTH=${KUBECTL_AUTH:-token}
umask 077
BASE_KEY=$AWS_ACCESS_KEY_ID
BASE_SECRET=$AWS_SECRET_ACCESS_KEY
triaged=0

aws() {
  echo aws >>"$WORK/processes"
  command aws "$@"
}
kubectl() {
  echo kubectl >>"$WORK/processes"
  command kubectl "$@"
}

# Writes the kubeconfig of one cluster: what `aws eks update-kubeconfig` writes (exec), or the same
# with a token from `aws eks get-token` (token). AWS_ENDPOINT_URL_STS is emptied for get-token: the
# token is a URL presigned for the real STS endpoint (the emulator's STS is only for API calls).
write_kubeconfig() {
  local cluster=$1 endpoint=$2 ca=$3 region=$4 file=$5 user
  if [ "$KUBECTL_AUTH" = exec ]; then
    # `command: aws`, through a wrapper that only counts the process (kubectl starts it, not this script).
    user="    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: $WORK/aws-counted
      args: [--region, $region, eks, get-token, --cluster-name, $cluster, --output, json]
      env: [{name: AWS_ENDPOINT_URL_STS, value: ''}]
      interactiveMode: Never"
  else
    local token
    token=$(AWS_ENDPOINT_URL_STS='' aws eks get-token --cluster-name "$cluster" --query status.token --output text) || return 1
    user="    token: $token"
  fi
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $cluster
  cluster:
    server: $endpoint
    certificate-authority-data: $ca
users:
- name: $cluster
  user:
$user
contexts:
- name: $cluster
  context: {cluster: $cluster, user: $cluster}
current-context: $cluster
EOF
}

if [ "$KUBECTL_AUTH" = exec ]; then
  printf '#!/usr/bin/env bash\necho aws >>"$WORK/processes"\nexec aws "$@"\n' >"$WORK/aws-counted"
  chmod 700 "$WORK/aws-counted"
fi

for account in $ACCOUNTS; do
  creds=$(AWS_ACCESS_KEY_ID=$BASE_KEY AWS_SECRET_ACCESS_KEY=$BASE_SECRET AWS_SESSION_TOKEN='' \
    aws sts assume-role --role-arn "arn:aws:iam::$account:role/$ROLE_NAME" --role-session-name manual-triage \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text) || {
    echo "account $account: cannot assume $ROLE_NAME" >&2
    continue
  }
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<<"$creds"
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  unset creds

  for region in $REGIONS; do
    export AWS_DEFAULT_REGION=$region
    for cluster in $(aws eks list-clusters --query 'clusters[]' --output text); do
      where="$account/$region/$cluster"
      read -r issuer ca endpoint < <(aws eks describe-cluster --name "$cluster" \
        --query 'cluster.[identity.oidc.issuer,certificateAuthority.data,endpoint]' --output text)
      oidc_id=${issuer##*/}
      provider=$(aws iam list-open-id-connect-providers \
        --query "OpenIDConnectProviderList[?ends_with(Arn, '/id/$oidc_id')].Arn" --output text)
      cluster_problems=""
      if [ -z "$provider" ]; then
        cluster_problems+=" no-oidc-provider"
      elif ! aws iam get-open-id-connect-provider --open-id-connect-provider-arn "$provider" \
        --query ClientIDList --output text | grep -qw sts.amazonaws.com; then
        cluster_problems+=" provider-lacks-sts-audience"
      fi

      export KUBECONFIG="$WORK/kubeconfig-$account-$region-$cluster"
      write_kubeconfig "$cluster" "$endpoint" "$ca" "$region" "$KUBECONFIG" || {
        echo "$where: no kubeconfig" >&2
        continue
      }
      written_at=$SECONDS

      # Every ServiceAccount that names a role: "<namespace> <name>" per line.
      while read -r ns sa <&3; do
        problems=$cluster_problems
        # An EKS token is good for 15 minutes: a token-mode kubeconfig is renewed after 10.
        if [ "$KUBECTL_AUTH" != exec ] && [ $((SECONDS - written_at)) -gt 600 ]; then
          write_kubeconfig "$cluster" "$endpoint" "$ca" "$region" "$KUBECONFIG" && written_at=$SECONDS
        fi
        role_arn=$(kubectl get serviceaccount "$sa" -n "$ns" \
          -o jsonpath='{.metadata.annotations.eks\.amazonaws\.com/role-arn}')
        if [[ ! $role_arn =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/(.+/)?([A-Za-z0-9+=,.@_-]+)$ ]]; then
          problems+=" role-arn-malformed"
        else
          role=${BASH_REMATCH[2]}
          if ! trust=$(aws iam get-role --role-name "$role" --query Role.AssumeRolePolicyDocument --output json); then
            problems+=" role-missing"
          else
            grep -qF "\"$provider\"" <<<"$trust" || problems+=" trust-names-another-provider"
            grep -qF "\"system:serviceaccount:$ns:$sa\"" <<<"$trust" || problems+=" trust-sub-excludes-sa"
            grep -qF ":aud\": \"sts.amazonaws.com\"" <<<"$trust" || problems+=" trust-aud-not-sts"
            attached=$(aws iam list-attached-role-policies --role-name "$role" --query 'AttachedPolicies[].PolicyArn' --output text)
            inline=$(aws iam list-role-policies --role-name "$role" --query 'PolicyNames[]' --output text)
            [ -n "$attached$inline" ] || problems+=" role-without-policies"
            for policy in $attached; do
              case $policy in arn:aws*:iam::aws:policy/*) continue ;; esac
              version=$(aws iam get-policy --policy-arn "$policy" --query Policy.DefaultVersionId --output text)
              aws iam get-policy-version --policy-arn "$policy" --version-id "$version" \
                --query PolicyVersion.Document --output json >/dev/null || problems+=" policy-unreadable"
            done
            for name in $inline; do
              aws iam get-role-policy --role-name "$role" --policy-name "$name" \
                --query PolicyDocument --output json >/dev/null || problems+=" policy-unreadable"
            done
          fi
        fi

        # The SA's pods: "<pod> <AWS_ROLE_ARN> <AWS_WEB_IDENTITY_TOKEN_FILE>" per line.
        pods=$(kubectl get pods -n "$ns" -o jsonpath="{range .items[?(@.spec.serviceAccountName==\"$sa\")]}{.metadata.name}{' '}{.spec.containers[0].env[?(@.name==\"AWS_ROLE_ARN\")].value}{' '}{.spec.containers[0].env[?(@.name==\"AWS_WEB_IDENTITY_TOKEN_FILE\")].value}{'\n'}{end}")
        while read -r pod pod_role token_file; do
          [ -n "$pod" ] || continue
          if [ -z "$token_file" ]; then
            problems+=" pod-not-mutated:$pod"
          elif [ "$pod_role" != "$role_arn" ]; then
            problems+=" pod-role-stale:$pod"
          fi
        done <<<"$pods"

        bundle=$(kubectl get mutatingwebhookconfiguration pod-identity-webhook \
          -o jsonpath='{.webhooks[0].clientConfig.caBundle}') || bundle=""
        if [ -z "$bundle" ]; then
          problems+=" webhook-missing"
        elif [ "$bundle" != "$ca" ]; then
          problems+=" webhook-ca-bundle-wrong"
        fi

        echo "triage $where $ns/$sa:${problems:- ok}"
        triaged=$((triaged + 1))
      done 3< <(kubectl get serviceaccounts -A \
        -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{" "}{.metadata.annotations.eks\.amazonaws\.com/role-arn}{"\n"}{end}' |
        awk 'NF == 3 { print $1, $2 }')
    done
  done
done
echo "triaged $triaged service accounts"
