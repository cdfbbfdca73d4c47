package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// oaMethods are the keys of a path item that name operations.
var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaLoad reads the document the service embeds.
func oaLoad(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if dec.More() {
		t.Fatal("openapi.json has data after the document")
	}
	return raw, doc
}

// oaGinParam matches a Gin path parameter (":id") or catch-all ("*path").
var oaGinParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// oaTemplateParam matches an OpenAPI path template parameter ("{id}").
var oaTemplateParam = regexp.MustCompile(`\{([^{}]+)\}`)

// oaPath turns a Gin route path into an OpenAPI path template.
func oaPath(ginPath string) string { return oaGinParam.ReplaceAllString(ginPath, "{$1}") }

// oaDocumentedOperations lists the document's operations as "METHOD /path".
func oaDocumentedOperations(t *testing.T, doc map[string]any) map[string]bool {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("the document has no paths object")
	}
	ops := map[string]bool{}
	for path, item := range paths {
		item, ok := item.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for _, m := range oaMethods {
			if _, ok := item[m]; ok {
				ops[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	return ops
}

// TestOpenAPIMatchesRouter holds the document to the router: every route is
// documented, and every documented operation is routed.
func TestOpenAPIMatchesRouter(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	routes := in.Server.Routes()
	if len(routes) == 0 {
		t.Fatal("the server lists no routes")
	}
	routed := map[string]bool{}
	for _, r := range routes {
		routed[r[0]+" "+oaPath(r[1])] = true
	}
	_, doc := oaLoad(t)
	documented := oaDocumentedOperations(t, doc)

	var missing, extra []string
	for op := range routed {
		if !documented[op] {
			missing = append(missing, op)
		}
	}
	for op := range documented {
		if !routed[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, op := range missing {
		t.Errorf("route %s is not in openapi.json", op)
	}
	for _, op := range extra {
		t.Errorf("openapi.json documents %s, which the router does not have", op)
	}

	// The document's security matches the router's: an operation that needs a key
	// answers 401 without one (a page may redirect to its sign-in form instead), and
	// a public one does not answer 401 (webhooks, which check signatures, aside).
	paths, _ := doc["paths"].(map[string]any)
	for _, path := range oaSortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		for _, method := range oaMethods {
			o, ok := item[method].(map[string]any)
			if !ok || !routed[strings.ToUpper(method)+" "+path] {
				continue
			}
			security, _ := o["security"].([]any)
			url := oaTemplateParam.ReplaceAllString(path, "openapi-test")
			r := in.Do(t, strings.ToUpper(method), url, "", nil)
			switch {
			case len(security) > 0 && r.Status != http.StatusUnauthorized && r.Status != http.StatusSeeOther && r.Status != http.StatusFound:
				t.Errorf("%s %s without a key: %d, but the document says it needs one", strings.ToUpper(method), path, r.Status)
			case len(security) == 0 && r.Status == http.StatusUnauthorized && !strings.HasPrefix(path, "/webhooks/"):
				t.Errorf("%s %s without a key: 401, but the document says it is public", strings.ToUpper(method), path)
			}
		}
	}
}

// TestOpenAPIServed fetches the document without a key.
func TestOpenAPIServed(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	r := in.Do(t, http.MethodGet, "/openapi.json", "", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc map[string]any
	r.JSON(t, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	raw, _ := oaLoad(t)
	if !bytes.Equal(r.Body, raw) {
		t.Error("the served document differs from service/openapi.json")
	}
}

// TestOpenAPIStructure checks what a generic validator would not: that the document
// is self-contained and consistent with the API's conventions.
func TestOpenAPIStructure(t *testing.T) {
	_, doc := oaLoad(t)

	t.Run("header", func(t *testing.T) {
		if doc["openapi"] != "3.1.0" {
			t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
		}
		info, _ := doc["info"].(map[string]any)
		if info["title"] != "goodwill" || info["version"] == nil {
			t.Errorf("info = %v, want title goodwill and a version", info)
		}
		license, _ := info["license"].(map[string]any)
		if license["identifier"] != "Apache-2.0" {
			t.Errorf("info.license = %v, want identifier Apache-2.0", license)
		}
		schemes, _ := oaLookup(doc, "/components/securitySchemes/bearerAuth")
		if s, _ := schemes.(map[string]any); s["type"] != "http" || s["scheme"] != "bearer" {
			t.Errorf("components.securitySchemes.bearerAuth = %v, want http bearer", schemes)
		}
	})

	t.Run("refs resolve", func(t *testing.T) {
		used := map[string]bool{}
		oaWalk(doc, "#", func(at string, node map[string]any) {
			v, ok := node["$ref"]
			if !ok {
				return
			}
			ref, ok := v.(string)
			if !ok || !strings.HasPrefix(ref, "#/") {
				t.Errorf("%s: $ref %v is not local to the document", at, v)
				return
			}
			if _, ok := oaLookup(doc, ref[1:]); !ok {
				t.Errorf("%s: $ref %s does not resolve", at, ref)
			}
			used[ref] = true
		})
		// A component nothing refers to is a sign the document drifted.
		components, _ := doc["components"].(map[string]any)
		for _, kind := range []string{"schemas", "parameters", "responses", "headers", "requestBodies"} {
			group, _ := components[kind].(map[string]any)
			for name := range group {
				if ref := "#/components/" + kind + "/" + oaEscapePointer(name); !used[ref] {
					t.Errorf("%s is not used", ref)
				}
			}
		}
	})

	t.Run("operations", func(t *testing.T) {
		paths, _ := doc["paths"].(map[string]any)
		opIDs := map[string]string{}
		for _, path := range oaSortedKeys(paths) {
			item, _ := paths[path].(map[string]any)
			templated := map[string]bool{}
			for _, m := range oaTemplateParam.FindAllStringSubmatch(path, -1) {
				templated[m[1]] = true
			}
			if strings.ContainsAny(path, ":*") {
				t.Errorf("%s: use {name} for path parameters", path)
			}
			itemParams := oaParameters(t, doc, path, item["parameters"])
			for _, method := range oaMethods {
				o, ok := item[method].(map[string]any)
				if !ok {
					continue
				}
				where := strings.ToUpper(method) + " " + path
				oaCheckOperation(t, doc, where, o, opIDs)

				// Every template parameter is declared as a required path parameter,
				// and every declared path parameter is in the template.
				params := map[string]map[string]any{}
				maps := []map[string]map[string]any{itemParams, oaParameters(t, doc, where, o["parameters"])}
				for _, ps := range maps {
					for k, p := range ps {
						params[k] = p
					}
				}
				for name := range templated {
					p, ok := params["path "+name]
					if !ok {
						t.Errorf("%s: path parameter {%s} is not declared", where, name)
						continue
					}
					if p["required"] != true {
						t.Errorf("%s: path parameter {%s} is not required: true", where, name)
					}
					if p["schema"] == nil {
						t.Errorf("%s: path parameter {%s} has no schema", where, name)
					}
				}
				for key := range params {
					if name, ok := strings.CutPrefix(key, "path "); ok && !templated[name] {
						t.Errorf("%s: declares path parameter %q that the path does not have", where, name)
					}
				}
			}
		}
	})
}

// oaCheckOperation checks one operation: an id, a summary, security, roles for
// authenticated routes, and problem documents for errors.
func oaCheckOperation(t *testing.T, doc map[string]any, where string, o map[string]any, opIDs map[string]string) {
	t.Helper()
	id, _ := o["operationId"].(string)
	switch {
	case id == "":
		t.Errorf("%s: no operationId", where)
	case opIDs[id] != "":
		t.Errorf("%s: operationId %q is also used by %s", where, id, opIDs[id])
	default:
		opIDs[id] = where
	}
	if s, _ := o["summary"].(string); s == "" {
		t.Errorf("%s: no summary", where)
	}
	security, ok := o["security"].([]any)
	if !ok {
		t.Errorf("%s: no security (use [] for a public route)", where)
	}
	public := len(security) == 0
	if !public {
		schemes, _ := oaLookup(doc, "/components/securitySchemes")
		for _, req := range security {
			rm, ok := req.(map[string]any)
			if !ok || len(rm) == 0 {
				t.Errorf("%s: security requirement %v names no scheme (use security: [] for a public route)", where, req)
			}
			for name := range rm {
				if !oaHasKey(schemes, name) {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, name)
				}
			}
		}
		if d, _ := o["description"].(string); !strings.Contains(d, "Roles:") {
			t.Errorf("%s: the description does not state the roles allowed (\"Roles: ...\")", where)
		}
	}

	responses, ok := o["responses"].(map[string]any)
	if !ok || len(responses) == 0 {
		t.Errorf("%s: no responses", where)
		return
	}
	hasSuccess := false
	for code, r := range responses {
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Errorf("%s: response %q is not a status code", where, code)
			continue
		}
		ref, _ := r.(map[string]any)["$ref"].(string)
		r = oaDeref(doc, r)
		rm, _ := r.(map[string]any)
		if d, _ := rm["description"].(string); d == "" {
			t.Errorf("%s: response %d has no description", where, n)
		}
		switch {
		case n < 300:
			hasSuccess = true
		case n == http.StatusRequestHeaderFieldsTooLarge && ref == "#/components/responses/HeaderTooLarge":
			// The HTTP server's own plain-text answer, before any route.
		case n >= 400 && oaIsPage(where, rm):
			// A page for browsers answers its errors with an HTML page.
		case n >= 400:
			content, _ := rm["content"].(map[string]any)
			if _, ok := content["application/problem+json"]; !ok || len(content) != 1 {
				t.Errorf("%s: response %d is not application/problem+json", where, n)
			}
		}
		if n == http.StatusServiceUnavailable || n == http.StatusTooManyRequests {
			if _, ok := oaLookupMap(rm, "headers", "Retry-After"); !ok {
				t.Errorf("%s: %d has no Retry-After header", where, n)
			}
		}
	}
	if !hasSuccess {
		t.Errorf("%s: no success response", where)
	}
	if !public {
		// 429: an address failing authentication too often is throttled.
		for _, code := range []string{"401", "403", "429"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s: no %s response", where, code)
			}
		}
	}
	if _, ok := o["requestBody"]; ok {
		for _, code := range []string{"400", "413"} {
			if _, ok := responses[code]; !ok {
				t.Errorf("%s: takes a body but has no %s response", where, code)
			}
		}
	}
}

// oaParameters resolves a parameter list into a map keyed "<in> <name>".
func oaParameters(t *testing.T, doc map[string]any, where string, list any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	items, _ := list.([]any)
	for i, p := range items {
		pm, ok := oaDeref(doc, p).(map[string]any)
		if !ok {
			t.Errorf("%s: parameter %d does not resolve to an object", where, i)
			continue
		}
		in, _ := pm["in"].(string)
		name, _ := pm["name"].(string)
		if !slices.Contains([]string{"path", "query", "header", "cookie"}, in) || name == "" {
			t.Errorf("%s: parameter %d has in %q and name %q", where, i, in, name)
			continue
		}
		key := in + " " + name
		if _, dup := out[key]; dup {
			t.Errorf("%s: parameter %s is declared twice", where, key)
		}
		out[key] = pm
	}
	return out
}

// oaDeref follows a $ref (and refs to refs) within the document.
func oaDeref(doc map[string]any, v any) any {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return v
		}
		if v, ok = oaLookup(doc, ref[1:]); !ok {
			return nil
		}
	}
	return v
}

// oaLookup resolves a JSON pointer (RFC 6901) in the document.
func oaLookup(doc any, pointer string) (any, bool) {
	if pointer == "" {
		return doc, true
	}
	if !strings.HasPrefix(pointer, "/") {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(pointer[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func oaLookupMap(m map[string]any, keys ...string) (any, bool) {
	var cur any = m
	for _, k := range keys {
		cm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = cm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func oaEscapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// oaWalk calls f on every object in v, with its location as a JSON pointer fragment.
func oaWalk(v any, at string, f func(at string, node map[string]any)) {
	switch c := v.(type) {
	case map[string]any:
		f(at, c)
		for _, k := range oaSortedKeys(c) {
			oaWalk(c[k], at+"/"+oaEscapePointer(k), f)
		}
	case []any:
		for i, e := range c {
			oaWalk(e, fmt.Sprintf("%s/%d", at, i), f)
		}
	}
}

func oaHasKey(v any, key string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	_, ok = m[key]
	return ok
}

func oaSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestOpenAPIHeaderTooLarge holds the document's 431 to the server: a request whose
// header is over 1 MiB is answered before any route, on every documented operation
// that lists HeaderTooLarge.
func TestOpenAPIHeaderTooLarge(t *testing.T) {
	in := servicetest.Start(t, nil, service.Options{})
	_, doc := oaLoad(t)
	paths, _ := doc["paths"].(map[string]any)
	var checked int
	for _, path := range oaSortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		for _, method := range oaMethods {
			o, _ := item[method].(map[string]any)
			responses, _ := o["responses"].(map[string]any)
			r431, _ := responses["431"].(map[string]any)
			if r431["$ref"] != "#/components/responses/HeaderTooLarge" {
				continue
			}
			checked++
			url := oaTemplateParam.ReplaceAllString(path, "openapi-test")
			r := in.Do(t, strings.ToUpper(method), url, "", nil, "X-Padding", strings.Repeat("x", 1<<20+8192))
			if r.Status != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("%s %s with a header over 1 MiB: %d, want 431", strings.ToUpper(method), path, r.Status)
			}
		}
	}
	if checked < 5 {
		t.Errorf("%d operations document HeaderTooLarge, want at least the 5 health, document and sign-in routes", checked)
	}
}

// oaIsPage reports whether a response of the operation where ("GET /path") is an
// HTML page: text/html only, on a route for browsers (neither /v1 nor /webhooks).
func oaIsPage(where string, response map[string]any) bool {
	_, path, _ := strings.Cut(where, " ")
	if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/webhooks/") {
		return false
	}
	content, _ := response["content"].(map[string]any)
	_, html := content["text/html"]
	return html && len(content) == 1
}
