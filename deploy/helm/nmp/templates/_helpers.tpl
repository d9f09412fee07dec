{{- define "nmp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "nmp.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "nmp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "nmp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "nmp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nmp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nmp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nmp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Refuse values that cannot work. */}}
{{- define "nmp.validate" -}}
{{- if and (eq .Values.store.backend "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but store.backend is sqlite: SQLite serves one replica only; use store.backend: postgresql for more" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq .Values.store.backend "postgresql") (not .Values.store.database.existingSecret) }}
{{- fail "store.backend is postgresql: set store.database.existingSecret to the Secret holding the database URL" }}
{{- end }}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) }}
{{- fail "tls.enabled is true: set tls.existingSecret to a kubernetes.io/tls Secret" }}
{{- end }}
{{- end }}

{{/* The platform config file: platformConfig plus the keys the chart owns. */}}
{{- define "nmp.platformConfig" -}}
{{- $config := deepCopy .Values.platformConfig }}
{{- $server := default (dict) $config.server }}
{{- $_ := set $server "shutdown_grace_seconds" (int .Values.shutdown.graceSeconds) }}
{{- if .Values.metrics.separatePort }}
{{- $_ := set $server "metrics_address" (printf "0.0.0.0:%d" (int .Values.metrics.port)) }}
{{- end }}
{{- if .Values.tls.enabled }}
{{- $tls := dict "cert_file" "/etc/nmp/tls/tls.crt" "key_file" "/etc/nmp/tls/tls.key" }}
{{- if .Values.tls.clientCaSecret }}
{{- $_ := set $tls "client_ca_file" "/etc/nmp/client-ca/ca.crt" }}
{{- end }}
{{- $_ := set $server "tls" $tls }}
{{- end }}
{{- $_ := set $config "server" $server }}
{{- if eq .Values.store.backend "sqlite" }}
{{- $_ := set $config "store" (dict "data_dir" "/var/lib/nmp") }}
{{- end }}
{{- if .Values.gatewaySecret.existingSecret }}
{{- $auth := $config.auth }}
{{- $gateway := default (dict) $auth.gateway }}
{{- $_ := set $gateway "shared_secret_file" "/etc/nmp/gateway/shared-secret" }}
{{- $_ := set $auth "gateway" $gateway }}
{{- end }}
{{- if .Values.signingKeySecret.existingSecret }}
{{- $auth := $config.auth }}
{{- $signing := default (dict) $auth.token_signing }}
{{- $_ := set $signing "private_key_file" "/etc/nmp/signing/signing.pem" }}
{{- $_ := set $auth "token_signing" $signing }}
{{- else if (($config.auth).access_keys).enabled }}
{{- fail "platformConfig.auth.access_keys.enabled needs signingKeySecret.existingSecret (the PEM that signs the keys)" }}
{{- end }}
{{- toYaml $config }}
{{- end }}
