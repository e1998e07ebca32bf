{{/* Common labels on every object the chart makes. */}}
{{- define "lamina.labels" -}}
app.kubernetes.io/part-of: lamina
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lamina.selector" -}}
app.kubernetes.io/part-of: lamina
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The URL of the artifact store inside the cluster. */}}
{{- define "lamina.storeUrl" -}}
http://lamina-store.{{ .Release.Namespace }}.svc:{{ .Values.store.port }}
{{- end -}}

{{- /* Lamina's own pods outrank function environments for room on a node (priorityClass). */}}
{{- define "lamina.priorityClassName" -}}
{{- if .Values.priorityClass.enabled -}}
{{ .Values.priorityClass.name | default (printf "%s-%s-platform" .Release.Name .Release.Namespace) }}
{{- end -}}
{{- end -}}

{{- define "lamina.priority" -}}
{{- with include "lamina.priorityClassName" . }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{- define "lamina.podSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 993
  runAsGroup: 993
  fsGroup: 993
  seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{- define "lamina.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: { drop: [ALL] }
{{- end -}}

{{/*
Whether the gateway replicas shard the functions over Leases: gateway.sharding.enabled true,
or auto (the default) with more than one replica or an autoscaler.
*/}}
{{- define "lamina.sharding" -}}
{{- $s := toString ((.Values.gateway.sharding | default dict).enabled) -}}
{{- if eq $s "true" -}}true
{{- else if and (ne $s "false") (include "lamina.gatewayScaled" .) -}}true
{{- end -}}
{{- end -}}

{{/* "true" when the gateway may run more than one replica (several, or an autoscaler). */}}
{{- define "lamina.gatewayScaled" -}}
{{- $g := .Values.gateway -}}
{{- if or (gt (int $g.replicas) 1) ($g.autoscaling | default dict).enabled -}}true{{- end -}}
{{- end -}}

{{/* The NATS server URL(s) of async.backend=nats: async.natsUrl, else the chart's own server. */}}
{{- define "lamina.natsUrl" -}}
{{- if .Values.async.natsUrl -}}
{{ .Values.async.natsUrl }}
{{- else if (.Values.nats).enabled -}}
nats://lamina-nats.{{ .Release.Namespace }}.svc:4222
{{- else -}}
{{ fail "async.backend=nats needs a NATS JetStream server: set nats.enabled=true (the chart runs one) or async.natsUrl (an existing one)" }}
{{- end -}}
{{- end -}}
