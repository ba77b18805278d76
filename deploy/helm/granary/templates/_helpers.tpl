{{/*
Names. The full name is cut to 40 characters so that StatefulSet pod
names and their controller-revision-hash labels stay within 63.
*/}}
{{- define "granary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{- define "granary.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "granary.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "granary.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: call with (list $ "master"). */}}
{{- define "granary.selectorLabels" -}}
{{- $ := index . 0 -}}
app.kubernetes.io/name: {{ include "granary.name" $ }}
app.kubernetes.io/instance: {{ $.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "granary.componentLabels" -}}
{{ include "granary.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "granary.image" -}}
{{ printf "%s:%s" .Values.image.repository (toString .Values.image.tag) }}
{{- end }}

{{- define "granary.authSecret" -}}
{{- default (printf "%s-auth" (include "granary.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/* The Raft group's size, refused unless 1, 3 or 5. */}}
{{- define "granary.masterReplicas" -}}
{{- $n := int .Values.master.replicas }}
{{- if not (has $n (list 1 3 5)) }}
{{- fail (printf "master.replicas must be 1, 3 or 5 (a Raft group of %d tolerates no more failures than one of %d); got %d" $n (sub $n 1) $n) }}
{{- end }}
{{- $n }}
{{- end }}

{{- define "granary.masterService" -}}
{{ include "granary.fullname" . }}-master
{{- end }}

{{- define "granary.chunkserverService" -}}
{{ include "granary.fullname" . }}-chunkserver
{{- end }}

{{/* DNS suffix of the pods behind a headless Service: call with (list $ service). */}}
{{- define "granary.podDomain" -}}
{{- $ := index . 0 -}}
{{ index . 1 }}.{{ $.Release.Namespace }}.svc.{{ $.Values.clusterDomain }}
{{- end }}

{{/*
The masters' pod names: <fullname>-master-0 bootstraps the Raft group,
<fullname>-master-peer-N (N < replicas-1) join it.
*/}}
{{- define "granary.masterPods" -}}
{{- $full := include "granary.fullname" . }}
{{- $pods := list (printf "%s-master-0" $full) }}
{{- range $i := until (sub (int (include "granary.masterReplicas" .)) 1 | int) }}
{{- $pods = append $pods (printf "%s-master-peer-%d" $full $i) }}
{{- end }}
{{- join "," $pods }}
{{- end }}

{{/* Every master's HTTP address, comma-separated, for --masters. */}}
{{- define "granary.masterAddrs" -}}
{{- $domain := include "granary.podDomain" (list . (include "granary.masterService" .)) }}
{{- $port := .Values.master.httpPort }}
{{- $addrs := list }}
{{- range (splitList "," (include "granary.masterPods" .)) }}
{{- $addrs = append $addrs (printf "%s.%s:%v" . $domain $port) }}
{{- end }}
{{- join "," $addrs }}
{{- end }}

{{/* The seed master's HTTP address, for --join. */}}
{{- define "granary.seedAddr" -}}
{{- printf "%s-master-0.%s:%v" (include "granary.fullname" .) (include "granary.podDomain" (list . (include "granary.masterService" .))) .Values.master.httpPort }}
{{- end }}

{{- define "granary.scheme" -}}
{{ ternary "HTTPS" "HTTP" .Values.tls.enabled }}
{{- end }}

{{/* Cluster TLS flags and volume mount (tls.enabled). */}}
{{- define "granary.tlsArgs" -}}
{{- if .Values.tls.enabled }}
- --cluster-ca
- /etc/granary/cluster-tls/ca.crt
- --cluster-cert
- /etc/granary/cluster-tls/tls.crt
- --cluster-key
- /etc/granary/cluster-tls/tls.key
{{- end }}
{{- end }}

{{- define "granary.tlsVolumeMount" -}}
{{- if .Values.tls.enabled }}
- name: cluster-tls
  mountPath: /etc/granary/cluster-tls
  readOnly: true
{{- end }}
{{- end }}

{{- define "granary.tlsVolume" -}}
{{- if .Values.tls.enabled }}
- name: cluster-tls
  secret:
    secretName: {{ required "tls.secretName is required when tls.enabled (a Secret with ca.crt, tls.crt and tls.key)" .Values.tls.secretName }}
    defaultMode: 0440
{{- end }}
{{- end }}

{{- define "granary.clusterSecretEnv" -}}
- name: GRANARY_CLUSTER_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "granary.authSecret" . }}
      key: cluster-secret
{{- end }}

{{/* Pod-level fields shared by every component: call with (list $ .Values.<component>). */}}
{{- define "granary.podCommon" -}}
{{- $ := index . 0 -}}
{{- $c := index . 1 -}}
{{- with $.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $.Values.podSecurityContext | nindent 2 }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
