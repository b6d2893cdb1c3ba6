# The default redaction rules sed can express, as POSIX ERE for GNU sed -E (I: ignore case), for the same-run
# comparison in bench/redact.sh: every token, URL, header and structure rule, curl's -u/--user and Go DSNs. The
# key/value recogniser (quote- and operator-aware, the key-name classifier, the placeholder filter), Secret manifests
# and the multi-line forms have no sed form: in their place sed runs key-name patterns of the old fixed vocabulary
# (= and : only), which do at least the work per line a sed port of them could. Look-behinds have no sed form.
s/-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----[^"]*(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----)?/***REDACTED:pem-private-key***/g
s/(https?:\/\/[A-Za-z0-9-]+\.(blob|file|queue|table|dfs)\.core\.windows\.net[^[:space:]"'?<>]*\?)[^[:space:]"'<>]*sig=[^[:space:]"'<>]*/\1***REDACTED:azure-sas-url***/gI
s/([?&;]sig=)[A-Za-z0-9%+\/=_-]{8,}/\1***REDACTED:azure-sas-signature***/gI
s/((AccountKey|SharedAccessKey)[[:space:]]*=[[:space:]]*)[A-Za-z0-9+\/]{16,}={0,2}/\1***REDACTED:azure-storage-key***/gI
s/gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255}/***REDACTED:github-token***/g
s/(glpat|gldt|glrt|glptt|glsoat)-[A-Za-z0-9_-]{20,}/***REDACTED:gitlab-token***/g
s/(xox[abposr]|xoxe|xapp)-[A-Za-z0-9-]{10,}/***REDACTED:slack-token***/g
s/(hooks\.slack\.com\/(services|workflows|triggers)\/|webhook\.office\.com\/webhookb2\/|outlook\.office\.com\/webhook\/|discord(app)?\.com\/api\/webhooks\/)[^[:space:]"'<>\]{8,}/\1***REDACTED:webhook-url***/gI
s/sk-ant-[A-Za-z0-9_-]{20,}/***REDACTED:anthropic-key***/g
s/sk-[A-Za-z0-9_-]*([0-9][A-Za-z0-9_-]*[A-Z]|[A-Z][A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]*/***REDACTED:openai-key***/g
s/hf_[A-Za-z0-9]{30,}/***REDACTED:huggingface-token***/g
s/hv[sbr]\.[A-Za-z0-9_-]{20,}/***REDACTED:vault-token***/g
s/sha256~[A-Za-z0-9_-]{40,}/***REDACTED:openshift-token***/g
s/AIza[0-9A-Za-z_-]{35}/***REDACTED:google-api-key***/g
s/[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}/***REDACTED:entra-client-secret***/g
s/[sr]k_(live|test)_[A-Za-z0-9]{16,}/***REDACTED:stripe-key***/g
s/SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{40,50}/***REDACTED:sendgrid-key***/g
s/npm_[A-Za-z0-9]{36}/***REDACTED:npm-token***/g
s/pypi-AgE[A-Za-z0-9_-]{50,}/***REDACTED:pypi-token***/g
s/(bearer[[:space:]]+)[A-Za-z0-9._~+\/-]{16,}=*/\1***REDACTED:bearer-token***/gI
s/(authorization["']?[[:space:]]*[:=][[:space:]]*["']?basic[[:space:]]+)[A-Za-z0-9+\/]{4,}={0,2}/\1***REDACTED:basic-auth***/gI
s/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.([A-Za-z0-9_-]{8,})?/***REDACTED:jwt***/g
s/([A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/)[^\/[:space:]:@"'<>\\]+:[^\/[:space:]@"'<>\\]+@/\1***REDACTED:url-credentials***@/g
s/((client-key-data|client-certificate-data|id-token|refresh-token)["']?[[:space:]]*:[[:space:]]*["']?)[^[:space:]"',}]{3,}/\1***REDACTED:kubeconfig-credential***/g
s/((password|passwd|passphrase|pwd)["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:password***/gI
s/((secret|client[_-]?secret|secret[_-]?key|secret[_-]?access[_-]?key)["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:secret-value***/gI
s/(((access|auth|bootstrap|refresh|session|api|identity|registry|id)[_-]?)?token["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:token-value***/gI
s/(auth["']?[[:space:]]*[:=][[:space:]]*["']?)[A-Za-z0-9+\/]{8,}={0,2}/\1***REDACTED:registry-auth***/gI
s/((x-)?api[_-]?key["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:api-key***/gI
s/(AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}/***REDACTED:aws-access-key***/g
s/([A-Z][A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)[A-Z0-9_]*=)[^[:space:]"'\\]+/\1***REDACTED:secret-env***/g
s/(--(proxy-)?user[= ]|curl( .*)? -u ?)([^[:space:]:"'@]+):[^[:space:]"']+/\1\4:***REDACTED:cli-credentials***/g
s/([A-Za-z0-9_.%+-]{1,64}:)[^[:space:]@"'\]{1,256}@(tcp6?|unix|udp)\(/\1***REDACTED:dsn-credentials***@\2(/g
s/(authorization["']?[[:space:]]*[:=][[:space:]]*["']?(token|digest|sharedkey|apikey)[[:space:]]+)[^[:space:]"',]+/\1***REDACTED:auth-header***/gI
