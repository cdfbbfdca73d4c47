package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Paths are relative to this package's directory, where go test runs.
const (
	k8sDir        = "k8s"
	composePath   = "compose.yaml"
	dockerfile    = "Dockerfile"
	settingsJSON  = "../service/settings.json" // service.Settings: what goodwill serve reads
	goMod         = "../go.mod"
	repoRoot      = ".."
	cmdPkg        = "./cmd/goodwill" // the command the image builds, from repoRoot
	imageRepo     = "ghcr.io/goodwillhq/goodwill"
	containerPort = 8080
	// mailPort is the email dropbox's container port (GOODWILL_MAIL_ADDR).
	mailPort   = 2525
	nonrootUID = 65532
)

// ---------------------------------------------------------------------------
// Strict decoding

// decodeStrict decodes YAML into v the way the API server's strict field
// validation does: unknown and duplicate fields fail, wrong types fail, and —
// unlike encoding/json — field names must match their case exactly.
func decodeStrict(data []byte, v any) error {
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		return err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	var generic any
	if err := json.Unmarshal(j, &generic); err != nil {
		return err
	}
	if errs := exactKeys("", generic, reflect.TypeOf(v)); len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// exactKeys walks a decoded JSON value beside the Go type it was decoded into and
// reports object keys that no field's JSON name matches exactly.
func exactKeys(path string, val any, t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface {
		return nil // Quantity, IntOrString, Time, RawExtension…: their own syntax
	}
	var errs []string
	switch val := val.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			fields := jsonFields(t)
			for k, v := range val {
				ft, ok := fields[k]
				if !ok {
					errs = append(errs, fmt.Sprintf("%s: unknown field %q (names are case-sensitive)", path, k))
					continue
				}
				errs = append(errs, exactKeys(path+"."+k, v, ft)...)
			}
		case reflect.Map:
			for k, v := range val {
				errs = append(errs, exactKeys(path+"."+k, v, t.Elem())...)
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, v := range val {
				errs = append(errs, exactKeys(fmt.Sprintf("%s[%d]", path, i), v, t.Elem())...)
			}
		}
	}
	return errs
}

// jsonFields maps the JSON names of a struct's fields, embedded structs
// (json:",inline" in the Kubernetes types) included, to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

func TestDecodeStrictRejectsMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 2\n",
		"wrong case":      "apiVersion: apps/v1\nkind: Deployment\nspec:\n  Replicas: 2\n",
		"wrong type":      "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: two\n",
		"duplicate field": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 2\n  replicas: 3\n",
		"nested typo":     "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          readinesProbe: {}\n",
		"bad quantity":    "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          resources: {limits: {memory: lots}}\n",
	} {
		if err := decodeStrict([]byte(doc), &appsv1.Deployment{}); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
	ok := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: x\n          resources: {limits: {memory: 1Gi}}\n          ports: [{containerPort: 80}]\n          readinessProbe: {httpGet: {path: /, port: http}}\n"
	if err := decodeStrict([]byte(ok), &appsv1.Deployment{}); err != nil {
		t.Errorf("a valid Deployment: %v", err)
	}
}

// ---------------------------------------------------------------------------
// Kubernetes manifests

type manifests struct {
	files       []string // base names of the manifest files
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
	pdbs        []*policyv1.PodDisruptionBudget
}

// yamlDocuments splits a YAML stream into its documents, as kubectl does.
func yamlDocuments(data []byte) ([][]byte, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(k8sDir, "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	for _, path := range paths {
		base := filepath.Base(path)
		if base == "kustomization.yaml" || base == "kustomization.yml" {
			continue
		}
		m.files = append(m.files, base)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := yamlDocuments(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for i, doc := range docs {
			j, err := yaml.YAMLToJSONStrict(doc)
			if err != nil {
				t.Fatalf("%s document %d: %v", path, i+1, err)
			}
			if string(bytes.TrimSpace(j)) == "null" {
				continue // empty document or comments only
			}
			var tm metav1.TypeMeta
			if err := json.Unmarshal(j, &tm); err != nil {
				t.Fatalf("%s document %d: %v", path, i+1, err)
			}
			var obj metav1.Object
			register := func() {}
			switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
			case "apps/v1 Deployment":
				d := &appsv1.Deployment{}
				m.deployments, obj = append(m.deployments, d), d
			case "v1 Service":
				s := &corev1.Service{}
				m.services, obj = append(m.services, s), s
			case "v1 ConfigMap":
				c := &corev1.ConfigMap{}
				obj, register = c, func() { m.configMaps[c.Name] = c }
			case "v1 Secret":
				s := &corev1.Secret{}
				obj, register = s, func() { m.secrets[s.Name] = s }
			case "autoscaling/v2 HorizontalPodAutoscaler":
				h := &autoscalingv2.HorizontalPodAutoscaler{}
				m.hpas, obj = append(m.hpas, h), h
			case "policy/v1 PodDisruptionBudget":
				p := &policyv1.PodDisruptionBudget{}
				m.pdbs, obj = append(m.pdbs, p), p
			default:
				t.Fatalf("%s document %d: %q is not a kind these tests know; add it to loadManifests", path, i+1, gvk)
			}
			if err := decodeStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s %s): %v", path, i+1, tm.APIVersion, tm.Kind, err)
			}
			checkMeta(t, path, obj)
			register()
		}
	}
	return m
}

// checkMeta checks what the API server would refuse in metadata: names must be
// DNS subdomains, labels and annotations well-formed; and the manifests are
// namespace-less so kustomize or kubectl -n chooses the namespace.
func checkMeta(t *testing.T, path string, obj metav1.Object) {
	t.Helper()
	if obj.GetName() == "" {
		t.Errorf("%s: an object without metadata.name", path)
	}
	for _, msg := range validation.IsDNS1123Subdomain(obj.GetName()) {
		t.Errorf("%s: name %q: %s", path, obj.GetName(), msg)
	}
	if obj.GetNamespace() != "" {
		t.Errorf("%s: %s sets namespace %q; the manifests are namespace-less", path, obj.GetName(), obj.GetNamespace())
	}
	checkLabels(t, path+" "+obj.GetName(), obj.GetLabels())
	for k := range obj.GetAnnotations() {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: annotation %q: %s", path, k, msg)
		}
	}
}

func checkLabels(t *testing.T, where string, labels map[string]string) {
	t.Helper()
	for k, v := range labels {
		for _, msg := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", where, k, msg)
		}
		for _, msg := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s=%q: %s", where, k, v, msg)
		}
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := loadManifests(t)
	for kind, n := range map[string]int{
		"Deployment": len(m.deployments), "Service": len(m.services), "ConfigMap": len(m.configMaps),
		"Secret": len(m.secrets), "HorizontalPodAutoscaler": len(m.hpas), "PodDisruptionBudget": len(m.pdbs),
	} {
		want := 1
		if kind == "Service" {
			want = 2 // HTTP, and the email dropbox's SMTP
		}
		if n != want {
			t.Errorf("%d %s objects in %s, want %d", n, kind, k8sDir, want)
		}
	}
}

// kustomization mirrors the part of kustomize's Kustomization the manifests use.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := loadManifests(t)
	data, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := decodeStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	listed := slices.Clone(k.Resources)
	sort.Strings(listed)
	files := slices.Clone(m.files)
	sort.Strings(files)
	if !slices.Equal(listed, files) {
		t.Errorf("kustomization.yaml resources %v, want exactly the manifest files %v", listed, files)
	}
	for _, img := range k.Images {
		if img.Name != imageRepo {
			t.Errorf("kustomization.yaml images: %q is not the image the Deployment runs (%s)", img.Name, imageRepo)
		}
	}
}

// theDeployment returns the Deployment and its goodwill container.
func theDeployment(t *testing.T, m *manifests) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	if len(m.deployments) != 1 {
		t.Fatalf("%d Deployments, want 1", len(m.deployments))
	}
	d := m.deployments[0]
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("Deployment %s has %d containers, want 1", d.Name, n)
	}
	return d, &d.Spec.Template.Spec.Containers[0]
}

// selects reports whether every key=value of selector is among labels (and the
// selector is not empty, which would select everything).
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func labelSelectorSelects(sel *metav1.LabelSelector, labels map[string]string) bool {
	return sel != nil && len(sel.MatchExpressions) == 0 && selects(sel.MatchLabels, labels)
}

// portNumber resolves a probe's or Service's target port against the container.
func portNumber(p intstr.IntOrString, c *corev1.Container) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func TestDeployment(t *testing.T) {
	m := loadManifests(t)
	d, c := theDeployment(t, m)
	pod := &d.Spec.Template.Spec
	podLabels := d.Spec.Template.Labels

	checkLabels(t, "pod template", podLabels)
	if !labelSelectorSelects(d.Spec.Selector, podLabels) {
		t.Errorf("Deployment selector %v does not select its pod labels %v", d.Spec.Selector, podLabels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment replicas %v, want at least 2", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil && ru.MaxUnavailable.String() != "0" {
		t.Errorf("rolling update maxUnavailable %s, want 0 (no capacity lost during a rollout)", ru.MaxUnavailable)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks must be false: the Service named goodwill would inject GOODWILL_PORT, GOODWILL_SERVICE_HOST… into goodwill's environment")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken should be false: goodwill does not use the Kubernetes API")
	}

	// Image and port.
	if repo, tag, _ := strings.Cut(c.Image, ":"); repo != imageRepo || tag == "" {
		t.Errorf("container image %q, want %s:<tag>", c.Image, imageRepo)
	}
	if len(c.Ports) != 2 || c.Ports[0].ContainerPort != containerPort || c.Ports[0].Name != "http" ||
		c.Ports[1].ContainerPort != mailPort || c.Ports[1].Name != "smtp" {
		t.Errorf("container ports %+v, want http on %d and smtp (the email dropbox) on %d", c.Ports, containerPort, mailPort)
	}
	if len(c.Command) > 0 || !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("container command %q args %q, want the image's entrypoint with args [serve]", c.Command, c.Args)
	}

	// Probes: readiness on /readyz (store reachable), liveness and startup on /healthz.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"readinessProbe", c.ReadinessProbe, "/readyz"},
		{"livenessProbe", c.LivenessProbe, "/healthz"},
		{"startupProbe", c.StartupProbe, "/healthz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: want an httpGet probe of %s", p.name, p.path)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path {
			t.Errorf("%s path %q, want %s", p.name, g.Path, p.path)
		}
		if got := portNumber(g.Port, c); got != containerPort {
			t.Errorf("%s port %s resolves to %d, want the container port %d", p.name, g.Port.String(), got, containerPort)
		}
		if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
			t.Errorf("%s scheme %s, want HTTP", p.name, g.Scheme)
		}
	}
	if c.LivenessProbe != nil && c.StartupProbe != nil && c.LivenessProbe.InitialDelaySeconds > 0 {
		t.Error("livenessProbe has an initial delay although a startupProbe guards start-up")
	}

	// Security: non-root, read-only root, no privileges.
	psc, sc := pod.SecurityContext, c.SecurityContext
	if sc == nil {
		t.Fatal("container has no securityContext")
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil && psc != nil {
		nonRoot = psc.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Error("runAsNonRoot must be true")
	}
	uid := sc.RunAsUser
	if uid == nil && psc != nil {
		uid = psc.RunAsUser
	}
	if uid == nil || *uid != nonrootUID {
		t.Errorf("runAsUser %v, want %d (the image's nonroot user)", uid, nonrootUID)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged must not be set")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("capabilities %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && psc != nil {
		seccomp = psc.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccompProfile %+v, want RuntimeDefault", seccomp)
	}
	// A read-only root needs a writable /tmp.
	var tmpVolume string
	for _, vm := range c.VolumeMounts {
		if vm.MountPath == "/tmp" {
			tmpVolume = vm.Name
		}
	}
	hasEmptyDir := slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == tmpVolume && v.EmptyDir != nil })
	if tmpVolume == "" || !hasEmptyDir {
		t.Error("want an emptyDir volume mounted on /tmp")
	}

	// Resources: requests for scheduling and the HPA, limits against runaways.
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		r, ok := req[name]
		if !ok || r.IsZero() {
			t.Errorf("resources.requests.%s not set", name)
		}
		l, ok := lim[name]
		if !ok || l.IsZero() {
			t.Errorf("resources.limits.%s not set", name)
			continue
		}
		if r.Cmp(l) > 0 {
			t.Errorf("resources: request %s %s above its limit %s", name, r.String(), l.String())
		}
	}
	if memLimit, ok := lim[corev1.ResourceMemory]; ok {
		for _, e := range c.Env {
			if e.Name != "GOMEMLIMIT" {
				continue
			}
			b, err := goMemLimitBytes(e.Value)
			if err != nil {
				t.Errorf("GOMEMLIMIT: %v", err)
			} else if b >= memLimit.Value() || b < memLimit.Value()/2 {
				t.Errorf("GOMEMLIMIT %s (%d bytes) should sit a little under the memory limit %s (%d bytes)", e.Value, b, memLimit.String(), memLimit.Value())
			}
		}
	}

	// Shutdown: preStop sleep (the image has no shell) within the grace period.
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.TerminationGracePeriodSeconds != nil {
		grace = *pod.TerminationGracePeriodSeconds
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Error("want a preStop sleep action (distroless has no shell for exec sleep)")
	} else if s := c.Lifecycle.PreStop.Sleep.Seconds; s <= 0 || s >= grace-10 {
		t.Errorf("preStop sleeps %ds; with a %ds grace period it leaves too little time to drain", s, grace)
	} else if c.Lifecycle.PreStop.Exec != nil {
		t.Error("preStop exec needs a shell the image does not have")
	}

	// Spread replicas over zones and nodes.
	if len(pod.TopologySpreadConstraints) == 0 {
		t.Error("want topologySpreadConstraints")
	}
	for _, tsc := range pod.TopologySpreadConstraints {
		if !labelSelectorSelects(tsc.LabelSelector, podLabels) {
			t.Errorf("topologySpreadConstraint on %s: selector %v does not select the pods %v", tsc.TopologyKey, tsc.LabelSelector, podLabels)
		}
	}
}

// goMemLimitBytes parses GOMEMLIMIT's syntax: a byte count with an optional
// B, KiB, MiB, GiB or TiB suffix.
func goMemLimitBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = num, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a byte count like 450MiB", s)
	}
	return n * mult, nil
}

// ---------------------------------------------------------------------------
// Environment variables goodwill knows

// setting mirrors service.Setting, as service/settings.json holds it.
type setting struct {
	Name    string `json:"name"`
	Default string `json:"default"`
}

// knownEnv returns the variables goodwill serve reads: its settings (the list
// service/settings.json holds), standard OpenTelemetry SDK variables and Go runtime
// settings.
func knownEnv(t *testing.T) (known map[string]bool, fromConfig []string) {
	t.Helper()
	data, err := os.ReadFile(settingsJSON)
	if err != nil {
		t.Fatal(err)
	}
	var settings []setting
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&settings); err != nil {
		t.Fatalf("%s: %v", settingsJSON, err)
	}
	known = map[string]bool{}
	for _, s := range settings {
		if known[s.Name] || !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(s.Name) {
			t.Fatalf("%s: %q is not a variable name listed once", settingsJSON, s.Name)
		}
		known[s.Name] = true
		fromConfig = append(fromConfig, s.Name)
	}
	if !known["GOODWILL_ADDR"] || !known["GOODWILL_MONGODB_URI"] {
		t.Fatalf("%s: found only %v", settingsJSON, fromConfig)
	}
	for _, name := range []string{
		"OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_PROPAGATORS",
		"OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
		"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG",
	} {
		known[name] = true
	}
	return known, fromConfig
}

// knows reports whether goodwill reads name; OTEL_EXPORTER_OTLP_* are the OTLP
// exporter's standard settings (endpoint, protocol, headers, per-signal forms…).
func knows(known map[string]bool, name string) bool {
	return known[name] || strings.HasPrefix(name, "OTEL_EXPORTER_OTLP_")
}

func TestDeploymentEnvironment(t *testing.T) {
	m := loadManifests(t)
	d, c := theDeployment(t, m)
	known, fromConfig := knownEnv(t)

	values := map[string]string{} // what the container's environment holds
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, ok := m.configMaps[ef.ConfigMapRef.Name]
			if !ok {
				t.Errorf("envFrom ConfigMap %q is not among the manifests", ef.ConfigMapRef.Name)
				continue
			}
			for k, v := range cm.Data {
				values[ef.Prefix+k] = v
			}
			if len(cm.BinaryData) > 0 {
				t.Errorf("ConfigMap %s: binaryData cannot become environment variables", cm.Name)
			}
		case ef.SecretRef != nil:
			s, ok := m.secrets[ef.SecretRef.Name]
			if !ok {
				t.Errorf("envFrom Secret %q is not among the manifests", ef.SecretRef.Name)
				continue
			}
			for k, v := range s.Data {
				values[ef.Prefix+k] = string(v)
			}
			for k, v := range s.StringData {
				values[ef.Prefix+k] = v
			}
		}
	}
	for _, e := range c.Env {
		values[e.Name] = e.Value
		if vf := e.ValueFrom; vf != nil {
			if r := vf.ConfigMapKeyRef; r != nil && m.configMaps[r.Name] == nil {
				t.Errorf("env %s: ConfigMap %q is not among the manifests", e.Name, r.Name)
			}
			if r := vf.SecretKeyRef; r != nil && m.secrets[r.Name] == nil {
				t.Errorf("env %s: Secret %q is not among the manifests", e.Name, r.Name)
			}
		}
	}
	for name := range values {
		if !knows(known, name) {
			t.Errorf("the Deployment sets %s, which goodwill does not read (not in %s, not a standard OTEL_/Go variable)", name, settingsJSON)
		}
	}
	// Every setting goodwill has is in the ConfigMap or the example Secret, so the
	// manifests document it — except what has no place in a cluster.
	notInCluster := map[string]string{
		"GOODWILL_DATA_DIR":       "the embedded store serves one process; the Deployment runs on MongoDB",
		"GOODWILL_TWILIO_API_URL": "tests point it at a fake Twilio",
	}
	for _, name := range fromConfig {
		if _, ok := values[name]; ok || notInCluster[name] != "" || strings.HasPrefix(name, "OTEL_") {
			continue
		}
		t.Errorf("%s (in %s) is in neither k8s/configmap.yaml nor k8s/secret.yaml; add it (empty = unset) to the one it belongs in", name, settingsJSON)
	}

	// Replicas share MongoDB: the embedded store serves one process.
	uri := values["GOODWILL_MONGODB_URI"]
	if !strings.HasPrefix(uri, "mongodb://") && !strings.HasPrefix(uri, "mongodb+srv://") {
		t.Errorf("GOODWILL_MONGODB_URI %q: %d replicas need MongoDB (the embedded store serves one process)", uri, *d.Spec.Replicas)
	}
	for _, ef := range c.EnvFrom {
		if ef.SecretRef != nil && ef.SecretRef.Optional != nil && *ef.SecretRef.Optional {
			t.Error("the Secret holding GOODWILL_MONGODB_URI must not be optional")
		}
	}
	if s := secretOf(m, "GOODWILL_MONGODB_URI"); s == "" {
		t.Error("GOODWILL_MONGODB_URI belongs in the Secret (it holds credentials)")
	}
	for _, name := range []string{"GOODWILL_BOOTSTRAP_KEY", "GOODWILL_SIGNING_KEY", "TWILIO_AUTH_TOKEN", "GOODWILL_SMTP_URL"} {
		for cmName, cm := range m.configMaps {
			if _, ok := cm.Data[name]; ok {
				t.Errorf("ConfigMap %s holds %s, a secret; move it to the Secret", cmName, name)
			}
		}
	}
	// The listen address serves the container port on every interface.
	host, port, err := net.SplitHostPort(values["GOODWILL_ADDR"])
	if err != nil || port != strconv.Itoa(containerPort) || (host != "0.0.0.0" && host != "" && host != "::") {
		t.Errorf("GOODWILL_ADDR %q, want 0.0.0.0:%d (all interfaces, the container port)", values["GOODWILL_ADDR"], containerPort)
	}
	if u := values["GOODWILL_PUBLIC_URL"]; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			t.Errorf("GOODWILL_PUBLIC_URL %q is not an http(s) base URL", u)
		}
	}
	if k := values["GOODWILL_BOOTSTRAP_KEY"]; k != "" && (!strings.HasPrefix(k, "gw_") || len(k) < 35) {
		t.Errorf("GOODWILL_BOOTSTRAP_KEY %q: goodwill wants gw_ and at least 32 more characters", k)
	}
}

// secretOf returns the Secret holding name, or "".
func secretOf(m *manifests, name string) string {
	for sName, s := range m.secrets {
		if _, ok := s.StringData[name]; ok {
			return sName
		}
		if _, ok := s.Data[name]; ok {
			return sName
		}
	}
	return ""
}

func TestService(t *testing.T) {
	m := loadManifests(t)
	d, c := theDeployment(t, m)
	byName := map[string]*corev1.Service{}
	for _, s := range m.services {
		byName[s.Name] = s
	}
	if len(m.services) != 2 || byName["goodwill"] == nil || byName["goodwill-smtp"] == nil {
		t.Fatalf("Services %v, want goodwill (HTTP) and goodwill-smtp (the email dropbox)", slices.Collect(maps.Keys(byName)))
	}
	for _, want := range []struct {
		name   string
		typ    corev1.ServiceType
		port   int32
		target int32
	}{
		// HTTP inside the cluster, behind your Ingress.
		{"goodwill", corev1.ServiceTypeClusterIP, 80, containerPort},
		// SMTP from the internet on 25, for the MX record.
		{"goodwill-smtp", corev1.ServiceTypeLoadBalancer, 25, mailPort},
	} {
		s := byName[want.name]
		if s.Spec.Type != want.typ && !(s.Spec.Type == "" && want.typ == corev1.ServiceTypeClusterIP) {
			t.Errorf("Service %s type %s, want %s", want.name, s.Spec.Type, want.typ)
		}
		if !selects(s.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("Service %s selector %v does not select the Deployment's pods %v", want.name, s.Spec.Selector, d.Spec.Template.Labels)
		}
		if len(s.Spec.Ports) != 1 {
			t.Fatalf("Service %s ports %+v, want one", want.name, s.Spec.Ports)
		}
		p := s.Spec.Ports[0]
		if p.Port != want.port {
			t.Errorf("Service %s port %d, want %d", want.name, p.Port, want.port)
		}
		if got := portNumber(p.TargetPort, c); got != want.target {
			t.Errorf("Service %s targetPort %s resolves to %d, want the container port %d", want.name, p.TargetPort.String(), got, want.target)
		}
		if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
			t.Errorf("Service %s protocol %s, want TCP", want.name, p.Protocol)
		}
	}
}

func TestAutoscalingAndDisruption(t *testing.T) {
	m := loadManifests(t)
	d, c := theDeployment(t, m)
	if len(m.hpas) != 1 || len(m.pdbs) != 1 {
		t.Fatalf("%d HorizontalPodAutoscalers and %d PodDisruptionBudgets, want 1 each", len(m.hpas), len(m.pdbs))
	}
	h := m.hpas[0]
	if ref := h.Spec.ScaleTargetRef; ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA targets %s %s %s, want apps/v1 Deployment %s", ref.APIVersion, ref.Kind, ref.Name, d.Name)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 10 {
		t.Errorf("HPA replicas %v..%d, want 2..10", h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if h.Spec.MinReplicas != nil && d.Spec.Replicas != nil && *d.Spec.Replicas < *h.Spec.MinReplicas {
		t.Errorf("Deployment replicas %d below the HPA's minimum %d", *d.Spec.Replicas, *h.Spec.MinReplicas)
	}
	cpu70 := slices.ContainsFunc(h.Spec.Metrics, func(ms autoscalingv2.MetricSpec) bool {
		return ms.Type == autoscalingv2.ResourceMetricSourceType && ms.Resource != nil &&
			ms.Resource.Name == corev1.ResourceCPU && ms.Resource.Target.Type == autoscalingv2.UtilizationMetricType &&
			ms.Resource.Target.AverageUtilization != nil && *ms.Resource.Target.AverageUtilization == 70
	})
	if !cpu70 {
		t.Errorf("HPA metrics %+v, want CPU utilization 70%%", h.Spec.Metrics)
	}
	if _, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("CPU utilization needs a CPU request on the container")
	}

	p := m.pdbs[0]
	if !labelSelectorSelects(p.Spec.Selector, d.Spec.Template.Labels) {
		t.Errorf("PDB selector %v does not select the Deployment's pods %v", p.Spec.Selector, d.Spec.Template.Labels)
	}
	if p.Spec.MinAvailable == nil || p.Spec.MinAvailable.String() != "1" || p.Spec.MaxUnavailable != nil {
		t.Errorf("PDB minAvailable %v maxUnavailable %v, want minAvailable 1", p.Spec.MinAvailable, p.Spec.MaxUnavailable)
	}
	if h.Spec.MinReplicas != nil && p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int &&
		p.Spec.MinAvailable.IntVal >= *h.Spec.MinReplicas {
		t.Error("PDB minAvailable must stay below the minimum replicas, or nodes can never be drained")
	}
}

// ---------------------------------------------------------------------------
// Compose

// composeFile mirrors the compose-spec fields deploy/compose.yaml uses; strict
// decoding makes a misspelt or misplaced field fail here rather than being
// ignored by docker compose.
type composeFile struct {
	Name     string                    `json:"name"`
	Services map[string]composeService `json:"services"`
	Volumes  map[string]*struct {
		Driver string `json:"driver,omitempty"`
	} `json:"volumes"`
}

type composeService struct {
	Image       string                       `json:"image,omitempty"`
	Build       *composeBuild                `json:"build,omitempty"`
	Command     []string                     `json:"command,omitempty"`
	Environment map[string]string            `json:"environment,omitempty"`
	Ports       []string                     `json:"ports,omitempty"`
	Volumes     []string                     `json:"volumes,omitempty"`
	DependsOn   map[string]composeDependency `json:"depends_on,omitempty"`
	Healthcheck *composeHealthcheck          `json:"healthcheck,omitempty"`
	Restart     string                       `json:"restart,omitempty"`
}

type composeBuild struct {
	Context    string            `json:"context"`
	Dockerfile string            `json:"dockerfile,omitempty"`
	Args       map[string]string `json:"args,omitempty"`
}

type composeDependency struct {
	Condition string `json:"condition"`
}

type composeHealthcheck struct {
	Test        []string `json:"test"`
	Interval    string   `json:"interval,omitempty"`
	Timeout     string   `json:"timeout,omitempty"`
	Retries     int      `json:"retries,omitempty"`
	StartPeriod string   `json:"start_period,omitempty"`
}

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	data, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := decodeStrict(data, &f); err != nil {
		t.Fatalf("%s: %v", composePath, err)
	}
	return &f
}

// servicesWhere returns the sorted names of the services matching pred.
func servicesWhere(f *composeFile, pred func(composeService) bool) []string {
	var names []string
	for name, s := range f.Services {
		if pred(s) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// flagValue returns the value after flag in args ("--flag v" or "--flag=v").
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

// pinnedImage matches an image pinned to a release: a tag of a full version
// (8.0.12, v1.27.0, 0.155.0, optionally with a suffix such as -alpine), or a digest.
var pinnedImage = regexp.MustCompile(`(:v?\d+\.\d+\.\d+([-.+][0-9A-Za-z.-]+)?|@sha256:[0-9a-f]{64})$`)

func TestComposeFile(t *testing.T) {
	f := loadCompose(t)
	known, _ := knownEnv(t)

	// Generic consistency: references resolve, images are tagged, policies valid.
	for name, s := range f.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		if s.Image != "" && !strings.Contains(s.Image[strings.LastIndex(s.Image, "/")+1:], ":") {
			t.Errorf("service %s: image %q has no tag", name, s.Image)
		}
		// An image pulled (not built here) is pinned to a release: a full version
		// tag (or a digest), never latest or a bare major version.
		if s.Image != "" && s.Build == nil && !pinnedImage.MatchString(s.Image) {
			t.Errorf("service %s: image %q is not pinned to a version (want name:X.Y.Z or name@sha256:…)", name, s.Image)
		}
		for dep, cond := range s.DependsOn {
			if _, ok := f.Services[dep]; !ok {
				t.Errorf("service %s depends on %s, which does not exist", name, dep)
			}
			switch cond.Condition {
			case "service_started", "service_healthy", "service_completed_successfully":
			default:
				t.Errorf("service %s depends_on %s: condition %q", name, dep, cond.Condition)
			}
			if cond.Condition == "service_healthy" && f.Services[dep].Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
			}
		}
		switch s.Restart {
		case "", "no", "always", "on-failure", "unless-stopped":
		default:
			t.Errorf("service %s: restart %q", name, s.Restart)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s: %v", name, src, err)
				}
			} else if _, ok := f.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %s, which is not declared under volumes", name, src)
			}
		}
		if hc := s.Healthcheck; hc != nil && (len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL")) {
			t.Errorf("service %s: healthcheck test %q, want [CMD, …]", name, hc.Test)
		}
		// Every published port is on the loopback interface only: compose is for
		// one machine, and what it runs (an admin key, mail, telemetry) is not
		// for the network without TLS in front.
		for _, p := range s.Ports {
			if !regexp.MustCompile(`^127\.0\.0\.1:\d+:\d+(/(tcp|udp))?$`).MatchString(p) {
				t.Errorf("service %s: port %q, want 127.0.0.1:HOST:CONTAINER", name, p)
			}
		}
	}

	// The MongoDB replica set: three members of one set.
	mongos := servicesWhere(f, func(s composeService) bool {
		return strings.HasPrefix(s.Image, "mongo:") && len(s.Command) > 0 && s.Command[0] == "mongod"
	})
	if len(mongos) != 3 {
		t.Fatalf("mongod services %v, want 3", mongos)
	}
	set := flagValue(f.Services[mongos[0]].Command, "--replSet")
	if set == "" {
		t.Fatalf("%s runs without --replSet", mongos[0])
	}
	var members []string
	for _, name := range mongos {
		s := f.Services[name]
		if got := flagValue(s.Command, "--replSet"); got != set {
			t.Errorf("%s is in replica set %q, %s in %q", name, got, mongos[0], set)
		}
		if !slices.Contains(s.Command, "--bind_ip_all") {
			t.Errorf("%s does not listen beyond localhost (--bind_ip_all)", name)
		}
		if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data/db") }) {
			t.Errorf("%s keeps /data/db on no volume", name)
		}
		if s.Healthcheck == nil {
			t.Errorf("%s has no healthcheck for the init step to wait on", name)
		}
		members = append(members, name+":27017")
	}

	// The init step: one-shot, after all members are up, initiating that set with them.
	inits := servicesWhere(f, func(s composeService) bool { return strings.Contains(strings.Join(s.Command, " "), "rs.initiate") })
	if len(inits) != 1 {
		t.Fatalf("services running rs.initiate: %v, want 1", inits)
	}
	initName, init := inits[0], f.Services[inits[0]]
	script := strings.Join(init.Command, " ")
	for _, name := range mongos {
		if init.DependsOn[name].Condition != "service_healthy" {
			t.Errorf("%s must wait for %s to be healthy", initName, name)
		}
	}
	for _, member := range members {
		if !strings.Contains(script, `"`+member+`"`) {
			t.Errorf("%s does not add member %s", initName, member)
		}
	}
	if !strings.Contains(script, `_id: "`+set+`"`) {
		t.Errorf("%s does not initiate replica set %q", initName, set)
	}
	if !strings.Contains(script, "NotYetInitialized") {
		t.Errorf("%s is not idempotent: it should initiate only a set that is NotYetInitialized", initName)
	}
	if init.Restart != "no" {
		t.Errorf("%s restart %q, want \"no\" (one-shot)", initName, init.Restart)
	}
	if strings.Contains(script, "$") && !strings.Contains(script, "$$") {
		t.Errorf("%s: a $ in the script is compose interpolation; write $$", initName)
	}

	// goodwill: built from this repository, after the init, on the replica set.
	gws := servicesWhere(f, func(s composeService) bool { return s.Build != nil })
	if len(gws) != 1 {
		t.Fatalf("services built here: %v, want goodwill only", gws)
	}
	gwName, gw := gws[0], f.Services[gws[0]]
	if df := filepath.Join(gw.Build.Context, gw.Build.Dockerfile); filepath.Clean(df) != filepath.Join("..", "deploy", dockerfile) {
		t.Errorf("%s builds %s, want ../deploy/Dockerfile (context the repository root)", gwName, df)
	}
	if gw.DependsOn[initName].Condition != "service_completed_successfully" {
		t.Errorf("%s must wait for %s to complete successfully", gwName, initName)
	}
	env := gw.Environment
	for name := range env {
		if !knows(known, name) {
			t.Errorf("%s sets %s, which goodwill does not read", gwName, name)
		}
	}
	uri := env["GOODWILL_MONGODB_URI"]
	rest, ok := strings.CutPrefix(uri, "mongodb://")
	if !ok {
		t.Fatalf("%s: GOODWILL_MONGODB_URI %q is not a mongodb:// URI", gwName, uri)
	}
	hostList, query, _ := strings.Cut(rest, "?")
	hostList = strings.TrimSuffix(hostList, "/")
	if hosts := strings.Split(hostList, ","); !slices.Equal(slices.Sorted(slices.Values(hosts)), members) {
		t.Errorf("GOODWILL_MONGODB_URI hosts %v, want all members %v", hosts, members)
	}
	if q, err := url.ParseQuery(query); err != nil || q.Get("replicaSet") != set {
		t.Errorf("GOODWILL_MONGODB_URI %q does not name replicaSet=%s", uri, set)
	}
	for _, port := range []int{containerPort, mailPort} {
		if !slices.Contains(gw.Ports, fmt.Sprintf("127.0.0.1:%d:%d", port, port)) {
			t.Errorf("%s ports %v, want 127.0.0.1:%d:%d", gwName, gw.Ports, port, port)
		}
	}
	if _, port, _ := net.SplitHostPort(env["GOODWILL_MAIL_ADDR"]); port != strconv.Itoa(mailPort) || env["GOODWILL_MAIL_DOMAIN"] == "" {
		t.Errorf("%s: GOODWILL_MAIL_ADDR %q and GOODWILL_MAIL_DOMAIN %q, want the email dropbox on the published port %d", gwName,
			env["GOODWILL_MAIL_ADDR"], env["GOODWILL_MAIL_DOMAIN"], mailPort)
	}
	if _, port, _ := net.SplitHostPort(env["GOODWILL_ADDR"]); env["GOODWILL_ADDR"] != "" && port != strconv.Itoa(containerPort) {
		t.Errorf("%s: GOODWILL_ADDR %q does not serve the published port %d", gwName, env["GOODWILL_ADDR"], containerPort)
	}
	if hc := gw.Healthcheck; hc == nil || len(hc.Test) < 3 || hc.Test[1] != "/goodwill" || hc.Test[2] != "health" {
		t.Errorf("%s healthcheck %+v, want [CMD, /goodwill, health, …]", gwName, hc)
	}
	// The admin key has no default: compose refuses to start without one, so no
	// two deployments share a key written in this file.
	if k := env["GOODWILL_BOOTSTRAP_KEY"]; !regexp.MustCompile(`^\$\{GOODWILL_BOOTSTRAP_KEY:\?[^}$]+\}$`).MatchString(k) {
		t.Errorf("%s: GOODWILL_BOOTSTRAP_KEY %q, want ${GOODWILL_BOOTSTRAP_KEY:?message} (required, no default)", gwName, k)
	}
	for name, v := range env {
		if strings.Contains(v, "gw_") && !strings.HasPrefix(v, "${") {
			t.Errorf("%s: %s holds what looks like a key: %q", gwName, name, v)
		}
	}
	if u, err := url.Parse(env["GOODWILL_PUBLIC_URL"]); err != nil || u.Host != fmt.Sprintf("localhost:%d", containerPort) {
		t.Errorf("%s: GOODWILL_PUBLIC_URL %q, want http://localhost:%d (required with SMTP)", gwName, env["GOODWILL_PUBLIC_URL"], containerPort)
	}

	// Mail to mailpit.
	smtp, err := url.Parse(env["GOODWILL_SMTP_URL"])
	if err != nil || smtp.Scheme != "smtp" {
		t.Fatalf("%s: GOODWILL_SMTP_URL %q", gwName, env["GOODWILL_SMTP_URL"])
	}
	if mp, ok := f.Services[smtp.Hostname()]; !ok || !strings.HasPrefix(mp.Image, "axllent/mailpit:") || smtp.Port() != "1025" {
		t.Errorf("GOODWILL_SMTP_URL %s does not reach a mailpit service on 1025", smtp)
	} else if !slices.Contains(mp.Ports, "127.0.0.1:8025:8025") {
		t.Errorf("%s does not publish its web UI on 8025", smtp.Hostname())
	}
	if env["GOODWILL_EMAIL_FROM"] == "" {
		t.Errorf("%s: GOODWILL_EMAIL_FROM is required with GOODWILL_SMTP_URL", gwName)
	}

	// Traces to the collector, over OTLP/HTTP.
	otlp, err := url.Parse(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	if err != nil || otlp.Scheme != "http" {
		t.Fatalf("%s: OTEL_EXPORTER_OTLP_ENDPOINT %q", gwName, env["OTEL_EXPORTER_OTLP_ENDPOINT"])
	}
	col, ok := f.Services[otlp.Hostname()]
	if !ok || !strings.HasPrefix(col.Image, "otel/opentelemetry-collector-contrib:") {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT %s does not reach an otel/opentelemetry-collector-contrib service", otlp)
	}
	if otlp.Port() != "4318" || (env["OTEL_EXPORTER_OTLP_PROTOCOL"] != "" && env["OTEL_EXPORTER_OTLP_PROTOCOL"] != "http/protobuf") {
		t.Errorf("OTEL endpoint %s with protocol %q: 4318 is OTLP/HTTP (http/protobuf)", otlp, env["OTEL_EXPORTER_OTLP_PROTOCOL"])
	}
	cfgPath := flagValue(col.Command, "--config")
	if cfgPath == "" {
		cfgPath = "/etc/otelcol-contrib/config.yaml" // the contrib image's default
	}
	var cfgSource string
	for _, v := range col.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == cfgPath {
			cfgSource = parts[0]
		}
	}
	if cfgSource == "" {
		t.Fatalf("the collector reads %s, which no volume provides", cfgPath)
	}
	checkCollectorConfig(t, cfgSource, col, gwName)
}

// collectorConfig mirrors the top of an OpenTelemetry collector configuration.
type collectorConfig struct {
	Receivers  map[string]map[string]any `json:"receivers"`
	Processors map[string]map[string]any `json:"processors"`
	Exporters  map[string]map[string]any `json:"exporters"`
	Extensions map[string]map[string]any `json:"extensions,omitempty"`
	Connectors map[string]map[string]any `json:"connectors,omitempty"`
	Service    struct {
		Extensions []string `json:"extensions,omitempty"`
		Telemetry  any      `json:"telemetry,omitempty"`
		Pipelines  map[string]struct {
			Receivers  []string `json:"receivers"`
			Processors []string `json:"processors,omitempty"`
			Exporters  []string `json:"exporters"`
		} `json:"pipelines"`
	} `json:"service"`
}

func checkCollectorConfig(t *testing.T, path string, col composeService, goodwill string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg collectorConfig
	if err := decodeStrict(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	declared := func(section map[string]map[string]any, id string) bool {
		_, ok := section[id]
		return ok
	}
	used := map[string]bool{}
	for name, p := range cfg.Service.Pipelines {
		if len(p.Receivers) == 0 || len(p.Exporters) == 0 {
			t.Errorf("%s: pipeline %s needs receivers and exporters", path, name)
		}
		for _, id := range p.Receivers {
			used["receivers/"+id] = true
			if !declared(cfg.Receivers, id) && !declared(cfg.Connectors, id) {
				t.Errorf("%s: pipeline %s uses receiver %s, not declared", path, name, id)
			}
		}
		for _, id := range p.Processors {
			used["processors/"+id] = true
			if !declared(cfg.Processors, id) {
				t.Errorf("%s: pipeline %s uses processor %s, not declared", path, name, id)
			}
		}
		for _, id := range p.Exporters {
			used["exporters/"+id] = true
			if !declared(cfg.Exporters, id) && !declared(cfg.Connectors, id) {
				t.Errorf("%s: pipeline %s uses exporter %s, not declared", path, name, id)
			}
		}
	}
	for section, ids := range map[string]map[string]map[string]any{"receivers": cfg.Receivers, "processors": cfg.Processors, "exporters": cfg.Exporters} {
		for id := range ids {
			if !used[section+"/"+id] {
				t.Errorf("%s: %s %s is declared but in no pipeline", path, section, id)
			}
		}
	}
	traces, ok := cfg.Service.Pipelines["traces"]
	if !ok || !slices.Contains(traces.Receivers, "otlp") {
		t.Errorf("%s: want a traces pipeline receiving otlp", path)
	}
	metrics, ok := cfg.Service.Pipelines["metrics"]
	if !ok || !slices.Contains(metrics.Exporters, "prometheus") {
		t.Errorf("%s: want a metrics pipeline exporting to prometheus", path)
	}

	// OTLP must listen beyond localhost (the collector's default since v0.104).
	protocols, _ := cfg.Receivers["otlp"]["protocols"].(map[string]any)
	for proto, port := range map[string]string{"grpc": "4317", "http": "4318"} {
		p, _ := protocols[proto].(map[string]any)
		ep, _ := p["endpoint"].(string)
		if ep != "0.0.0.0:"+port {
			t.Errorf("%s: otlp %s endpoint %q, want 0.0.0.0:%s", path, proto, ep, port)
		}
	}
	// The prometheus exporter is published, and the receiver scrapes goodwill.
	ep, _ := cfg.Exporters["prometheus"]["endpoint"].(string)
	if _, port, err := net.SplitHostPort(ep); err != nil || !slices.Contains(col.Ports, "127.0.0.1:"+port+":"+port) {
		t.Errorf("%s: prometheus exporter endpoint %q is not published by the collector service (%v)", path, ep, col.Ports)
	}
	if scrape, ok := cfg.Receivers["prometheus"]; ok {
		target := fmt.Sprintf("%q", fmt.Sprintf("%s:%d", goodwill, containerPort))
		if raw, _ := json.Marshal(scrape); !strings.Contains(string(raw), target) {
			t.Errorf("%s: the prometheus receiver does not scrape %s", path, target)
		}
	}
}

// ---------------------------------------------------------------------------
// Dockerfile

type instruction struct {
	cmd  string // upper case
	args string
}

// parseDockerfile returns the instructions, continuation lines joined and
// comments dropped.
func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for line := range strings.SplitSeq(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		if full := strings.TrimSpace(cur.String()); full != "" {
			cmd, args, _ := strings.Cut(full, " ")
			out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		}
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	type stage struct {
		from, name string
		ins        []instruction
	}
	var stages []stage
	args := map[string]string{}
	for _, in := range ins {
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := stage{}
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.name = f[i+1]
					i++
				default:
					s.from = f[i]
				}
			}
			stages = append(stages, s)
		case len(stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		case len(stages) > 0:
			stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name != "build" {
		t.Errorf("first stage is named %q, want build (FROM … AS build)", build.name)
	}
	// The builder's Go is the one go.mod asks for.
	from := regexp.MustCompile(`\$\{?([A-Z_]+)\}?`).ReplaceAllStringFunc(build.from, func(ref string) string {
		return args[strings.Trim(ref, "${}")]
	})
	mod, err := os.ReadFile(goMod)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax(goMod, mod, nil)
	if err != nil || mf.Go == nil {
		t.Fatalf("%s: no go directive (%v)", goMod, err)
	}
	goVersion := strings.Join(strings.SplitN(mf.Go.Version, ".", 3)[:2], ".") // 1.26.0 → 1.26
	if from != "golang:"+goVersion {
		t.Errorf("build stage FROM %s (%s), want golang:%s as go.mod says", build.from, from, goVersion)
	}
	var buildRun string
	for _, in := range build.ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			buildRun = in.args
		}
	}
	for _, want := range []string{
		"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.version=${VERSION}", "./cmd/goodwill",
		"--mount=type=cache,target=/go/pkg/mod", "--mount=type=cache,target=/root/.cache/go-build",
	} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("the go build RUN lacks %q: %s", want, buildRun)
		}
	}
	// -X of a missing variable is silently ignored: build the command with the
	// Dockerfile's -X and check that goodwill version prints what it set.
	ldflags := ""
	m := regexp.MustCompile(`-X (\S+)=\$\{VERSION\}`).FindStringSubmatch(buildRun)
	if m != nil {
		ldflags = "-X " + m[1] + "=deploy-probe"
	}
	goodwill := buildGoodwill(t, ldflags)
	if m != nil {
		out, err := exec.Command(goodwill, "version").CombinedOutput()
		if f := strings.Fields(string(out)); err != nil || len(f) < 2 || f[1] != "deploy-probe" {
			t.Errorf("built with -X %s=deploy-probe, goodwill version printed %q (%v): the variable the Dockerfile sets does not exist", m[1], out, err)
		}
	}

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static or scratch", final.from)
	}
	last := map[string]string{}
	for _, in := range final.ins {
		last[in.cmd] = in.args
		if in.cmd == "COPY" {
			if m := regexp.MustCompile(`--from=(\S+)`).FindStringSubmatch(in.args); m != nil &&
				!slices.ContainsFunc(stages, func(s stage) bool { return s.name == m[1] }) {
				t.Errorf("COPY --from=%s names no stage", m[1])
			}
		}
		if in.cmd == "RUN" {
			t.Errorf("RUN in the final stage (%s): distroless has no shell", in.args)
		}
	}
	if u := last["USER"]; u != "nonroot" && u != "nonroot:nonroot" && u != "65532" && u != "65532:65532" {
		t.Errorf("final USER %q, want 65532 (nonroot)", u)
	}
	if last["EXPOSE"] != strconv.Itoa(containerPort) {
		t.Errorf("EXPOSE %q, want %d", last["EXPOSE"], containerPort)
	}
	envs := map[string]string{}
	for _, in := range final.ins {
		if in.cmd == "ENV" {
			for _, kv := range strings.Fields(in.args) {
				k, v, _ := strings.Cut(kv, "=")
				envs[k] = v
			}
		}
	}
	if envs["GOODWILL_ADDR"] != fmt.Sprintf("0.0.0.0:%d", containerPort) || envs["GOODWILL_DATA_DIR"] != "/data" {
		t.Errorf("ENV %v, want GOODWILL_ADDR=0.0.0.0:%d GOODWILL_DATA_DIR=/data", envs, containerPort)
	}
	hc := last["HEALTHCHECK"]
	if !strings.Contains(hc, `CMD ["/goodwill", "health"`) {
		t.Errorf("HEALTHCHECK %q, want exec form CMD [\"/goodwill\", \"health\"…]", hc)
	}
	if last["ENTRYPOINT"] != `["/goodwill"]` || last["CMD"] != `["serve"]` {
		t.Errorf("ENTRYPOINT %s CMD %s, want [\"/goodwill\"] [\"serve\"]", last["ENTRYPOINT"], last["CMD"])
	}
	for _, label := range []string{"title", "source", "version", "revision", "licenses"} {
		if !slices.ContainsFunc(final.ins, func(in instruction) bool {
			return in.cmd == "LABEL" && strings.Contains(in.args, "org.opencontainers.image."+label+"=")
		}) {
			t.Errorf("no org.opencontainers.image.%s label", label)
		}
	}
	// The health check needs the subcommand: it exits 0 when /healthz answers 200,
	// and not otherwise.
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
		}))
		out, err := exec.Command(goodwill, "health", "--url", srv.URL+"/healthz").CombinedOutput()
		srv.Close()
		if (err == nil) != (status == http.StatusOK) {
			t.Errorf("HEALTHCHECK runs `goodwill health`: against a /healthz answering %d it returned %v\n%s", status, err, out)
		}
	}
}

// buildGoodwill builds the command the image runs, with ldflags, and returns the
// binary's path.
func buildGoodwill(t *testing.T, ldflags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "goodwill")
	build := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, cmdPkg)
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", cmdPkg, err, out)
	}
	return bin
}
