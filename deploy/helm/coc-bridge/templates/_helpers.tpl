{{/*
Names, labels and the small decisions every template shares.
*/}}

{{/* Chart name, overridable. */}}
{{- define "coc-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release-chart, or the release name alone when it already contains the chart
name. Truncated to 63 characters (the DNS label limit).
*/}}
{{- define "coc-bridge.fullname" -}}
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

{{- define "coc-bridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "coc-bridge.labels" -}}
helm.sh/chart: {{ include "coc-bridge.chart" . }}
{{ include "coc-bridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: coc-bridge
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the pods; never change them after the first install. */}}
{{- define "coc-bridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coc-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "coc-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "coc-bridge.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "coc-bridge.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
Configuration errors that must stop the release, with a message saying what to change.
Included by the Deployment (and so by every install, upgrade and template run).
*/}}
{{- define "coc-bridge.validate" -}}
{{- $type := .Values.store.type }}
{{- if not (has $type (list "sqlite" "postgres")) }}
{{- fail (printf "store.type must be \"sqlite\" or \"postgres\", not %q" $type) }}
{{- end }}
{{- if and (eq $type "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but store.type is sqlite: a SQLite file serves exactly one replica (several would each deliver and could create duplicate tickets). Set replicaCount: 1, or store.type: postgres with postgres.dsn or postgres.existingSecret for several replicas." (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq $type "postgres") (not .Values.postgres.dsn) (not .Values.postgres.existingSecret) }}
{{- fail "store.type is postgres: set postgres.dsn (stored in the chart's Secret) or postgres.existingSecret (a Secret holding the postgres:// URL under postgres.existingSecretKey)" }}
{{- end }}
{{- if and .Values.postgres.dsn (not (or (hasPrefix "postgres://" .Values.postgres.dsn) (hasPrefix "postgresql://" .Values.postgres.dsn))) }}
{{- fail "postgres.dsn must be a postgres:// or postgresql:// URL" }}
{{- end }}
{{- if not (has .Values.config.dedupeBy (list "group" "alert" "groupkey")) }}
{{- fail (printf "config.dedupeBy must be group, alert or groupkey, not %q" .Values.config.dedupeBy) }}
{{- end }}
{{- if and .Values.coc.existingSecret (or .Values.coc.accessKey .Values.coc.secretKey .Values.coc.securityToken) }}
{{- fail "set either coc.existingSecret or coc.accessKey/coc.secretKey/coc.securityToken, not both" }}
{{- end }}
{{- if and .Values.webhook.existingSecret .Values.webhook.bearerToken }}
{{- fail "set either webhook.existingSecret or webhook.bearerToken, not both" }}
{{- end }}
{{- end }}

{{/* Name of the Secret the chart creates. */}}
{{- define "coc-bridge.secretName" -}}
{{- include "coc-bridge.fullname" . }}
{{- end }}

{{/* Whether the chart's own Secret has anything to hold. */}}
{{- define "coc-bridge.createSecret" -}}
{{- $v := .Values }}
{{- $coc := and (not $v.coc.existingSecret) (or $v.coc.accessKey $v.coc.secretKey $v.coc.securityToken) }}
{{- $webhook := and (not $v.webhook.existingSecret) $v.webhook.bearerToken }}
{{- $pg := and (eq $v.store.type "postgres") (not $v.postgres.existingSecret) $v.postgres.dsn }}
{{- if or $coc $webhook $pg }}true{{ end }}
{{- end }}

{{/*
Secret files, as a list of {source, key, path, env} dicts: each becomes a projected
Secret item under /etc/coc-bridge/secrets and the matching _FILE variable.
*/}}
{{- define "coc-bridge.secretFiles" -}}
{{- $v := .Values }}
{{- $own := include "coc-bridge.secretName" . }}
{{- $files := list }}
{{- if $v.coc.existingSecret }}
{{- $k := $v.coc.existingSecretKeys }}
{{- $files = append $files (dict "source" $v.coc.existingSecret "key" $k.accessKey "path" "coc-access-key" "env" "COC_BRIDGE_COC_ACCESS_KEY_FILE") }}
{{- $files = append $files (dict "source" $v.coc.existingSecret "key" $k.secretKey "path" "coc-secret-key" "env" "COC_BRIDGE_COC_SECRET_KEY_FILE") }}
{{- if $k.securityToken }}
{{- $files = append $files (dict "source" $v.coc.existingSecret "key" $k.securityToken "path" "coc-security-token" "env" "COC_BRIDGE_COC_SECURITY_TOKEN_FILE") }}
{{- end }}
{{- else }}
{{- if $v.coc.accessKey }}
{{- $files = append $files (dict "source" $own "key" "coc-access-key" "path" "coc-access-key" "env" "COC_BRIDGE_COC_ACCESS_KEY_FILE") }}
{{- end }}
{{- if $v.coc.secretKey }}
{{- $files = append $files (dict "source" $own "key" "coc-secret-key" "path" "coc-secret-key" "env" "COC_BRIDGE_COC_SECRET_KEY_FILE") }}
{{- end }}
{{- if $v.coc.securityToken }}
{{- $files = append $files (dict "source" $own "key" "coc-security-token" "path" "coc-security-token" "env" "COC_BRIDGE_COC_SECURITY_TOKEN_FILE") }}
{{- end }}
{{- end }}
{{- if $v.webhook.existingSecret }}
{{- $files = append $files (dict "source" $v.webhook.existingSecret "key" $v.webhook.existingSecretKey "path" "webhook-bearer-token" "env" "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE") }}
{{- else if $v.webhook.bearerToken }}
{{- $files = append $files (dict "source" $own "key" "webhook-bearer-token" "path" "webhook-bearer-token" "env" "COC_BRIDGE_WEBHOOK_BEARER_TOKEN_FILE") }}
{{- end }}
{{- if eq $v.store.type "postgres" }}
{{- if $v.postgres.existingSecret }}
{{- $files = append $files (dict "source" $v.postgres.existingSecret "key" $v.postgres.existingSecretKey "path" "store-dsn" "env" "COC_BRIDGE_STORE_FILE") }}
{{- else }}
{{- $files = append $files (dict "source" $own "key" "store-dsn" "path" "store-dsn" "env" "COC_BRIDGE_STORE_FILE") }}
{{- end }}
{{- end }}
{{- toJson (dict "files" $files) }}
{{- end }}

{{/* Whether the bearer token for the webhook is configured. */}}
{{- define "coc-bridge.webhookAuth" -}}
{{- if or .Values.webhook.existingSecret .Values.webhook.bearerToken }}true{{ end }}
{{- end }}

{{/* Whether the COC credentials are configured (or not needed, in dry-run). */}}
{{- define "coc-bridge.credentialsConfigured" -}}
{{- if or .Values.config.dryRun .Values.coc.existingSecret (and .Values.coc.accessKey .Values.coc.secretKey) }}true{{ end }}
{{- end }}

{{/* Whether the cluster serves a prometheus-operator kind (pass the kind, e.g. "ServiceMonitor"). */}}
{{- define "coc-bridge.hasMonitoringKind" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- if or ($root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") ($root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" $kind)) }}true{{ end }}
{{- end }}

{{/* The mapping file: from the chart's ConfigMap or an existing one. */}}
{{- define "coc-bridge.mappingConfigMap" -}}
{{- if .Values.mapping.existingConfigMap }}
{{- .Values.mapping.existingConfigMap }}
{{- else if .Values.mapping.content }}
{{- printf "%s-mapping" (include "coc-bridge.fullname" .) }}
{{- end }}
{{- end }}

{{/* Service URL Alertmanager posts to. */}}
{{- define "coc-bridge.webhookURL" -}}
{{- printf "http://%s.%s.svc:%d/api/v1/alerts" (include "coc-bridge.fullname" .) .Release.Namespace (int .Values.service.port) }}
{{- end }}
