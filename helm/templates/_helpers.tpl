{{/* Chart name, or nameOverride. */}}
{{- define "soma.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Base name of every object: "<release>-<chart>", e.g. soma-memory-somafractalmemory.
Truncated to 50 characters so suffixes such as "-postgres-headless" still fit
the 63-character limit of Kubernetes names.
*/}}
{{- define "soma.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "soma.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the pods of one component; pass (dict "root" $ "component" "api"). */}}
{{- define "soma.selectorLabels" -}}
app.kubernetes.io/name: {{ include "soma.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Labels of every object; pass (dict "root" $ "component" "api"). */}}
{{- define "soma.labels" -}}
helm.sh/chart: {{ include "soma.chart" .root }}
{{ include "soma.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "soma.name" .root }}
{{- end -}}

{{/* Image of the service; fails when no tag is given, because "latest" cannot be trusted. */}}
{{- define "soma.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- $tag := required "image.tag is required: set it to the tag of the image built from service/Dockerfile (the kind target sets a content-derived tag)" .Values.image.tag -}}
{{- if eq (toString $tag) "latest" -}}
{{- fail "image.tag must not be \"latest\": a node caches :latest and would run a stale image; use a content-derived tag" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository (toString $tag) -}}
{{- end -}}
{{- end -}}

{{- define "soma.apiTokenSecretName" -}}
{{- default (printf "%s-api-token" (include "soma.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "soma.postgresSecretName" -}}
{{- default (printf "%s-postgres" (include "soma.fullname" .)) .Values.postgres.existingSecret -}}
{{- end -}}

{{/* Kafka bootstrap brokers as a comma-separated list. */}}
{{- define "soma.kafkaBrokers" -}}
{{- if .Values.kafka.enabled -}}
{{- printf "%s-kafka:%d" (include "soma.fullname" .) (int .Values.kafka.port) -}}
{{- else -}}
{{- join "," (required "externalKafka.brokers is required when kafka.enabled is false and eventing is on" .Values.externalKafka.brokers) -}}
{{- end -}}
{{- end -}}

{{- define "soma.qdrantUrl" -}}
{{- if .Values.qdrant.enabled -}}
{{- printf "http://%s-qdrant:%d" (include "soma.fullname" .) (int .Values.qdrant.httpPort) -}}
{{- else -}}
{{- required "externalQdrant.url is required when qdrant.enabled is false" .Values.externalQdrant.url -}}
{{- end -}}
{{- end -}}

{{/*
Environment of the API and consumer containers that comes from Secrets: the API
token, the Postgres URL (assembled from the generated password for the in-chart
Postgres, read whole from a Secret for an external one), the Qdrant API key and
the Kafka SASL password. Kubernetes expands $(POSTGRES_PASSWORD) because that
variable is defined earlier in the same list.
*/}}
{{- define "soma.secretEnv" -}}
{{- if .Values.auth.enabled }}
- name: SOMA_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "soma.apiTokenSecretName" . }}
      key: {{ .Values.auth.existingSecretKey }}
{{- end }}
{{- if .Values.postgres.enabled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "soma.postgresSecretName" . }}
      key: password
- name: SOMA_POSTGRES_URL
  value: {{ printf "postgres://%s:$(POSTGRES_PASSWORD)@%s-postgres:%d/%s" .Values.postgres.username (include "soma.fullname" .) (int .Values.postgres.port) .Values.postgres.database | quote }}
{{- else }}
- name: SOMA_POSTGRES_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "externalPostgres.existingSecret is required when postgres.enabled is false: a Secret with the full Postgres URL" .Values.externalPostgres.existingSecret }}
      key: {{ .Values.externalPostgres.urlKey }}
{{- end }}
{{- if and (not .Values.qdrant.enabled) .Values.externalQdrant.apiKeySecret }}
- name: SOMA_QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalQdrant.apiKeySecret }}
      key: {{ .Values.externalQdrant.apiKeySecretKey }}
{{- end }}
{{- if and .Values.eventing.enabled (not .Values.kafka.enabled) .Values.externalKafka.sasl.enabled }}
- name: SOMA_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "externalKafka.sasl.passwordSecret is required when externalKafka.sasl.enabled is true" .Values.externalKafka.sasl.passwordSecret }}
      key: {{ .Values.externalKafka.sasl.passwordSecretKey }}
{{- end }}
{{- end -}}

{{/* Volumes with the CA certificates of external backends. */}}
{{- define "soma.tlsVolumes" -}}
- name: tmp
  emptyDir: {}
{{- if and (not .Values.postgres.enabled) .Values.externalPostgres.caSecret }}
- name: postgres-ca
  secret:
    secretName: {{ .Values.externalPostgres.caSecret }}
{{- end }}
{{- if and (not .Values.kafka.enabled) .Values.externalKafka.tls.enabled .Values.externalKafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.externalKafka.tls.caSecret }}
{{- end }}
{{- end -}}

{{- define "soma.tlsVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and (not .Values.postgres.enabled) .Values.externalPostgres.caSecret }}
- name: postgres-ca
  mountPath: /etc/soma/tls/postgres
  readOnly: true
{{- end }}
{{- if and (not .Values.kafka.enabled) .Values.externalKafka.tls.enabled .Values.externalKafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/soma/tls/kafka
  readOnly: true
{{- end }}
{{- end -}}

{{/* Probes of a service container (API or consumer). */}}
{{- define "soma.probes" -}}
startupProbe:
  httpGet:
    path: {{ .Values.probes.startup.path }}
    port: http
  periodSeconds: {{ .Values.probes.startup.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.startup.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: {{ .Values.probes.liveness.path }}
    port: http
  initialDelaySeconds: {{ .Values.probes.liveness.initialDelaySeconds }}
  periodSeconds: {{ .Values.probes.liveness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.liveness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: {{ .Values.probes.readiness.path }}
    port: http
  periodSeconds: {{ .Values.probes.readiness.periodSeconds }}
  timeoutSeconds: {{ .Values.probes.readiness.timeoutSeconds }}
  failureThreshold: {{ .Values.probes.readiness.failureThreshold }}
{{- end -}}

{{/* Pod annotations: Prometheus scrape settings and config checksums that roll pods on change. */}}
{{- define "soma.podAnnotations" -}}
checksum/config: {{ include (print .root.Template.BasePath "/configmap.yaml") .root | sha256sum }}
{{- if .root.Values.metrics.scrapeAnnotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .root.Values.containerPort | quote }}
prometheus.io/path: {{ .root.Values.metrics.path | quote }}
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* "true" when the chart runs its own Kafka (eventing on and kafka.enabled). */}}
{{- define "soma.kafkaInChart" -}}
{{- if and .Values.eventing.enabled .Values.kafka.enabled -}}true{{- end -}}
{{- end -}}
