# The default redaction rules as POSIX ERE for GNU sed -E (I: ignore case), for the same-run comparison in
# bench/redact.sh. Look-behinds and the multi-line PEM state have no sed form; everything else is the same shape.
s/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[^"]*(-----END [A-Z0-9 ]*PRIVATE KEY-----)?/***REDACTED:pem-private-key***/g
s/(https?:\/\/[A-Za-z0-9-]+\.(blob|file|queue|table|dfs)\.core\.windows\.net[^[:space:]"'?<>]*\?)[^[:space:]"'<>]*sig=[^[:space:]"'<>]*/\1***REDACTED:azure-sas-url***/gI
s/([?&;]sig=)[A-Za-z0-9%+\/=_-]{8,}/\1***REDACTED:azure-sas-signature***/gI
s/((AccountKey|SharedAccessKey)[[:space:]]*=[[:space:]]*)[A-Za-z0-9+\/]{16,}={0,2}/\1***REDACTED:azure-storage-key***/gI
s/(bearer[[:space:]]+)[A-Za-z0-9._~+\/-]{16,}=*/\1***REDACTED:bearer-token***/gI
s/(authorization["']?[[:space:]]*[:=][[:space:]]*["']?basic[[:space:]]+)[A-Za-z0-9+\/]{4,}={0,2}/\1***REDACTED:basic-auth***/gI
s/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/***REDACTED:jwt***/g
s/([A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/)[^\/[:space:]:@"'<>\\]+:[^\/[:space:]@"'<>\\]+@/\1***REDACTED:url-credentials***@/g
s/((client-key-data|client-certificate-data|id-token|refresh-token)["']?[[:space:]]*:[[:space:]]*["']?)[^[:space:]"',}]{3,}/\1***REDACTED:kubeconfig-credential***/g
s/((password|passwd|passphrase|pwd)["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:password***/gI
s/((secret|client[_-]?secret|secret[_-]?key|secret[_-]?access[_-]?key)["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:secret-value***/gI
s/(((access|auth|bootstrap|refresh|session|api|identity|registry|id)[_-]?)?token["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:token-value***/gI
s/(auth["']?[[:space:]]*[:=][[:space:]]*["']?)[A-Za-z0-9+\/]{8,}={0,2}/\1***REDACTED:registry-auth***/gI
s/((x-)?api[_-]?key["']?[[:space:]]*[:=][[:space:]]*["']?)[^][[:space:]"',;&<>{}()\\]{3,}/\1***REDACTED:api-key***/gI
s/(AKIA|ASIA)[0-9A-Z]{16}/***REDACTED:aws-access-key***/g
s/([A-Z][A-Z0-9_]*(SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIALS?)[A-Z0-9_]*=)[^[:space:]"'\\]+/\1***REDACTED:secret-env***/g
