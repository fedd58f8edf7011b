{{/* Shared pieces of every todoflow object. */}}

{{- define "todoflow.name" -}}todoflow{{- end -}}

{{/* Labels of one component; the selector uses the name, instance and component labels only. */}}
{{- define "todoflow.labels" -}}
{{ include "todoflow.selector" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "todoflow.selector" -}}
app.kubernetes.io/name: todoflow
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image by immutable tag: required, and never "latest". */}}
{{- define "todoflow.image" -}}
{{- $tag := required "image.tag is required: the commit SHA the image was built from (--set image.tag=<sha>)" .Values.image.tag | toString -}}
{{- if eq $tag "latest" -}}
{{- fail "image.tag must be an immutable tag (the commit SHA), not \"latest\"" -}}
{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{/* Pod-level fields shared by every pod: pull secrets, the non-root numeric user, no API token. */}}
{{- define "todoflow.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
enableServiceLinks: false
securityContext:
  runAsNonRoot: true
  runAsUser: {{ .Values.securityContext.uid }}
  runAsGroup: {{ .Values.securityContext.gid }}
  fsGroup: {{ .Values.securityContext.gid }}
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Container-level security: read-only root filesystem, no privilege escalation, no capabilities. */}}
{{- define "todoflow.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  runAsUser: {{ .Values.securityContext.uid }}
  runAsGroup: {{ .Values.securityContext.gid }}
  capabilities:
    drop: ["ALL"]
{{- end -}}

{{/* The only writable paths: /tmp (HOME of the image; gunicorn's heartbeat files) and the Kafka CA. */}}
{{- define "todoflow.volumeMounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- if .Values.kafka.caName }}
  - name: kafka-ca
    mountPath: /etc/todoflow/kafka-ca
    readOnly: true
{{- end }}
{{- end -}}

{{- define "todoflow.volumes" -}}
volumes:
  - name: tmp
    emptyDir:
      medium: Memory
      sizeLimit: 64Mi
{{- if .Values.kafka.caName }}
  - name: kafka-ca
    {{- if eq .Values.kafka.caKind "ConfigMap" }}
    configMap:
      name: {{ .Values.kafka.caName }}
    {{- else }}
    secret:
      secretName: {{ .Values.kafka.caName }}
    {{- end }}
      items:
        - key: {{ .Values.kafka.caKey }}
          path: ca.crt
{{- end }}
{{- end -}}

{{- define "todoflow.secretEnv" -}}
- name: {{ .key }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.secret.name }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Environment of every process: database, Kafka (with SASL/TLS from the Secret and the CA mount), StatsD. */}}
{{- define "todoflow.env" -}}
{{- $root := . -}}
- name: PYTHONUNBUFFERED
  value: "1"
{{ include "todoflow.secretEnv" (dict "root" $root "key" "DATABASE_URL") }}
{{ include "todoflow.secretEnv" (dict "root" $root "key" "KAFKA_BOOTSTRAP_SERVERS") }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol }}
- name: KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.saslMechanism | quote }}
{{ include "todoflow.secretEnv" (dict "root" $root "key" "KAFKA_SASL_USERNAME") }}
{{ include "todoflow.secretEnv" (dict "root" $root "key" "KAFKA_SASL_PASSWORD") }}
{{- end }}
{{- if .Values.kafka.caName }}
- name: KAFKA_SSL_CA_LOCATION
  value: /etc/todoflow/kafka-ca/ca.crt
{{- end }}
- name: STATSD_HOST
  value: {{ .Values.statsd.host | quote }}
- name: STATSD_PORT
  value: {{ .Values.statsd.port | quote }}
- name: STATSD_PREFIX
  value: {{ .Values.statsd.prefix | quote }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Extra plain environment of one component. */}}
{{- define "todoflow.componentEnv" -}}
{{- range $name, $value := . }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Spread the replicas of one component over the nodes. */}}
{{- define "todoflow.topologySpread" -}}
topologySpreadConstraints:
  - maxSkew: {{ .root.Values.topologySpread.maxSkew }}
    topologyKey: {{ .root.Values.topologySpread.topologyKey }}
    whenUnsatisfiable: {{ .root.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "todoflow.selector" . | nindent 8 }}
    matchLabelKeys: ["pod-template-hash"]
{{- end -}}

{{/* A PodDisruptionBudget for one component. */}}
{{- define "todoflow.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ printf "%s-%s" .root.Release.Name .component }}
  labels:
    {{- include "todoflow.labels" . | nindent 4 }}
spec:
  minAvailable: {{ .minAvailable }}
  selector:
    matchLabels:
      {{- include "todoflow.selector" . | nindent 6 }}
{{- end -}}

{{/* Egress every todoflow process needs: DNS, PostgreSQL, Kafka, StatsD. */}}
{{- define "todoflow.commonEgress" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          k8s-app: kube-dns
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
- to:
    {{- range $np.postgres.cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
  ports:
    {{- range $np.postgres.ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
- to:
    {{- range $np.kafka.cidrs }}
    - ipBlock: {cidr: {{ . }}}
    {{- end }}
    {{- with $np.kafka.namespace }}
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ . }}
    {{- end }}
  ports:
    {{- range $np.kafka.ports }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.statsdNamespace }}
  ports:
    - {port: {{ .Values.statsd.port }}, protocol: UDP}
{{- end -}}
