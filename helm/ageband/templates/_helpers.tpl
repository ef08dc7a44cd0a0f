{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "ageband.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; the release name alone when it already contains the chart name. */}}
{{- define "ageband.fullname" -}}
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

{{- define "ageband.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ageband.labels" -}}
helm.sh/chart: {{ include "ageband.chart" . }}
{{ include "ageband.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of the API pods; the worker adds its own component label. */}}
{{- define "ageband.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ageband.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "ageband.apiSelectorLabels" -}}
{{ include "ageband.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{- define "ageband.workerSelectorLabels" -}}
{{ include "ageband.selectorLabels" . }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "ageband.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ageband.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "ageband.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- end }}

{{/* The Secret with the pepper, the clients file, the signing keys and maybe the Redis URL. */}}
{{- define "ageband.secretName" -}}
{{- required "secrets.existingSecret is required: name a Secret holding the pepper, the clients file and the signing keys" .Values.secrets.existingSecret }}
{{- end }}

{{- define "ageband.policyConfigMap" -}}
{{- if .Values.policy.existingConfigMap }}
{{- .Values.policy.existingConfigMap }}
{{- else if .Values.policy.files }}
{{- printf "%s-policy" (include "ageband.fullname" .) }}
{{- else }}
{{- fail "set policy.files (YAML policy files) or policy.existingConfigMap (a ConfigMap that policy owners manage)" }}
{{- end }}
{{- end }}

{{/* Where the Secret's files and the policy directory are mounted. */}}
{{- define "ageband.secretDir" -}}/etc/ageband/secrets{{- end }}
{{- define "ageband.policyDir" -}}/etc/ageband/policies{{- end }}

{{/* AGEBAND_TOKENS__KEYS: the signing key files with their rotation states, as JSON. */}}
{{- define "ageband.keysJson" -}}
{{- $dir := include "ageband.secretDir" . -}}
{{- $keys := list -}}
{{- range .Values.tokens.signingKeys -}}
{{- $keys = append $keys (dict "path" (printf "%s/%s" $dir .secretKey) "state" .state) -}}
{{- end -}}
{{- $keys | toJson -}}
{{- end }}

{{/* AGEBAND_AUDIT__CHECKPOINT_PUBLISHED_KEYS: earlier checkpoint keys' files, as JSON. */}}
{{- define "ageband.publishedCheckpointKeysJson" -}}
{{- $dir := include "ageband.secretDir" . -}}
{{- $paths := list -}}
{{- range .Values.audit.publishedCheckpointKeys -}}
{{- $paths = append $paths (printf "%s/%s" $dir .) -}}
{{- end -}}
{{- $paths | toJson -}}
{{- end }}

{{/* Environment shared by the API and the worker: the same settings, the same Secret. */}}
{{- define "ageband.env" -}}
- name: AGEBAND_ENV
  value: production
- name: AGEBAND_POLICY_PATH
  value: {{ include "ageband.policyDir" . | quote }}
- name: AGEBAND_CLIENTS_FILE
  value: {{ printf "%s/%s" (include "ageband.secretDir" .) .Values.secrets.clientsKey | quote }}
- name: AGEBAND_PEPPER
  valueFrom:
    secretKeyRef:
      name: {{ include "ageband.secretName" . }}
      key: {{ .Values.secrets.pepperKey }}
- name: AGEBAND_TOKENS__ISSUER
  value: {{ required "tokens.issuer is required (the iss claim apps pin)" .Values.tokens.issuer | quote }}
- name: AGEBAND_TOKENS__LIFETIME
  value: {{ .Values.tokens.lifetime | quote }}
{{- if .Values.tokens.keysFile }}
- name: AGEBAND_TOKENS__KEYS_FILE
  value: {{ printf "%s/%s" (include "ageband.secretDir" .) .Values.tokens.keysFile | quote }}
{{- else }}
- name: AGEBAND_TOKENS__KEYS
  value: {{ include "ageband.keysJson" . | quote }}
{{- end }}
- name: AGEBAND_AUDIT__CHECKPOINT_KEY
  value: {{ printf "%s/%s" (include "ageband.secretDir" .) (required "audit.checkpointKey is required: the Ed25519 key that signs audit checkpoints" .Values.audit.checkpointKey) | quote }}
{{- with .Values.audit.publishedCheckpointKeys }}
- name: AGEBAND_AUDIT__CHECKPOINT_PUBLISHED_KEYS
  value: {{ include "ageband.publishedCheckpointKeysJson" $ | quote }}
{{- end }}
- name: AGEBAND_STORE__BACKEND
  value: redis
- name: AGEBAND_STORE__PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: AGEBAND_STORE__MIN_REPLICAS_ACK
  value: {{ .Values.redis.minReplicasAck | quote }}
- name: AGEBAND_STORE__REPLICA_ACK_TIMEOUT_MS
  value: {{ .Values.redis.replicaAckTimeoutMs | quote }}
- name: AGEBAND_STORE__REDIS_URL
{{- if .Values.redis.urlSecretKey }}
  valueFrom:
    secretKeyRef:
      name: {{ include "ageband.secretName" . }}
      key: {{ .Values.redis.urlSecretKey }}
{{- else }}
  value: {{ required "redis.url or redis.urlSecretKey is required" .Values.redis.url | quote }}
{{- end }}
- name: AGEBAND_PROVIDERS__ENABLED
  value: {{ .Values.providers.enabled | toJson | quote }}
- name: AGEBAND_LOG_FORMAT
  value: json
- name: AGEBAND_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- with .Values.tracing }}
{{- if .enabled }}
- name: AGEBAND_TRACING__ENABLED
  value: "true"
- name: AGEBAND_TRACING__EXPORTER
  value: {{ .exporter | quote }}
- name: AGEBAND_TRACING__SERVICE_NAME
  value: {{ .serviceName | quote }}
- name: AGEBAND_TRACING__SAMPLE_RATIO
  value: {{ .sampleRatio | quote }}
{{- if .endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes shared by the API and the worker. */}}
{{- define "ageband.volumes" -}}
- name: policies
  configMap:
    name: {{ include "ageband.policyConfigMap" . }}
- name: secrets
  secret:
    secretName: {{ include "ageband.secretName" . }}
    defaultMode: 0400
    {{- if not .Values.tokens.keysFile }}
    {{- /* With a key manifest the whole Secret is mounted: a rotation adds key files to it. */}}
    items:
      - key: {{ .Values.secrets.clientsKey }}
        path: {{ .Values.secrets.clientsKey }}
      {{- range .Values.tokens.signingKeys }}
      - key: {{ .secretKey }}
        path: {{ .secretKey }}
      {{- end }}
      - key: {{ .Values.audit.checkpointKey }}
        path: {{ .Values.audit.checkpointKey }}
      {{- range .Values.audit.publishedCheckpointKeys }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
    {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}

{{/* Mounted as whole directories (no subPath), so ConfigMap edits reach running pods. */}}
{{- define "ageband.volumeMounts" -}}
- name: policies
  mountPath: {{ include "ageband.policyDir" . }}
  readOnly: true
- name: secrets
  mountPath: {{ include "ageband.secretDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}
