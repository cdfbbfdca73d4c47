package service_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goodwillhq/goodwill/service"
	"github.com/goodwillhq/goodwill/service/servicetest"
)

// The documentation: the README (the front door), the pages under docs/, and the
// other top-level documents they link to. Paths are relative to the repository root.
func docFiles(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs/*.md pages (%v)", err)
	}
	files := []string{"README.md", "ARCHITECTURE.md", "SECURITY.md", "BENCHMARKS.md"}
	for _, p := range pages {
		files = append(files, strings.TrimPrefix(filepath.ToSlash(p), "../"))
	}
	return files
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// mdBlock is a fenced code block of a markdown file.
type mdBlock struct {
	lang, text string
	line       int // of the opening fence
}

// mdParse returns a markdown text's fenced blocks and its headings' anchors, as
// GitHub makes them (lower case, punctuation dropped, spaces to hyphens, repeats
// numbered).
func mdParse(text string) (blocks []mdBlock, anchors map[string]bool) {
	anchors = map[string]bool{}
	seen := map[string]int{}
	var cur *mdBlock
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			if cur == nil {
				cur = &mdBlock{lang: strings.TrimSpace(line[3:]), line: i + 1}
			} else {
				blocks = append(blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			cur.text += line + "\n"
			continue
		}
		if m := mdHeading.FindStringSubmatch(line); m != nil {
			slug := mdSlug(m[1])
			if n := seen[slug]; n > 0 {
				anchors[slug+"-"+string(rune('0'+n))] = true
			} else {
				anchors[slug] = true
			}
			seen[slug]++
		}
	}
	return blocks, anchors
}

var (
	mdHeading  = regexp.MustCompile(`^#{1,6} (.+?)\s*#*$`)
	mdLink     = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdSlugDrop = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	docMention = regexp.MustCompile(`(?:README|ARCHITECTURE|SECURITY|docs/[a-z0-9-]+)\.md(?:#[a-z0-9_-]+)?`)
)

func mdSlug(heading string) string {
	s := mdSlugDrop.ReplaceAllString(strings.ToLower(heading), "")
	return strings.ReplaceAll(s, " ", "-")
}

// TestDocsLinksResolve: every relative link of the documentation names a file that
// exists and, with a #fragment into a markdown file, one of its headings; and every
// mention of a documentation page (with its anchor) in the OpenAPI document, the Go
// sources and the deployment files does too.
func TestDocsLinksResolve(t *testing.T) {
	anchorsOf := map[string]map[string]bool{}
	anchors := func(file string) map[string]bool {
		if a, ok := anchorsOf[file]; ok {
			return a
		}
		_, a := mdParse(readRepoFile(t, file))
		anchorsOf[file] = a
		return a
	}
	check := func(where, from, target string) {
		path, frag, _ := strings.Cut(target, "#")
		file := from
		if path != "" {
			file = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(from), path)))
			if _, err := os.Stat(filepath.Join("..", file)); err != nil {
				t.Errorf("%s: %s names %s, which does not exist", where, target, file)
				return
			}
		}
		if frag != "" && strings.HasSuffix(file, ".md") && !anchors(file)[frag] {
			t.Errorf("%s: %s: %s has no heading #%s", where, target, file, frag)
		}
	}

	var links int
	for _, file := range docFiles(t) {
		text := readRepoFile(t, file)
		// Links inside code blocks are code, not links.
		blocks, _ := mdParse(text)
		for _, b := range blocks {
			text = strings.Replace(text, b.text, "", 1)
		}
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if u, err := url.Parse(target); err == nil && u.Scheme != "" {
				continue
			}
			links++
			check(file, file, target)
		}
	}
	if links < 20 {
		t.Errorf("the documentation has %d relative links; the README's table of pages alone has more", links)
	}

	// Mentions of pages outside the documentation, read from the repository root.
	mentions := 0
	for _, file := range []string{"service/openapi.json", "deploy/k8s/configmap.yaml"} {
		for _, m := range docMention.FindAllString(readRepoFile(t, file), -1) {
			mentions++
			check(file, "README.md", m)
		}
	}
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "third_party" || d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, "../"))
		for _, m := range docMention.FindAllString(string(b), -1) {
			if strings.HasPrefix(m, "docs/") {
				mentions++
				check(rel, "README.md", m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if mentions == 0 {
		t.Error("no mention of a docs/ page was found outside the documentation")
	}
}

// exampleKey is the admin key the README's "Try it" uses with make run.
const exampleKey = "gw_local_development_key_change_me_0000"

// TestDocsExamples runs the documentation's examples against a real server: every
// curl command to localhost:8080 in a sh block must answer 2xx, and every json block
// must parse. Each page runs on a fresh server after the README's "Try it" (the state
// the pages' examples start from: application app-42 and recruiter rec-ana).
func TestDocsExamples(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	blocks, _ := mdParse(readme)
	var tryIt []mdBlock
	_, after, _ := strings.Cut(readme, "\n## Try it\n")
	section, _, _ := strings.Cut(after, "\n## ")
	for _, b := range blocks {
		if b.lang == "sh" && strings.Contains(section, b.text) {
			tryIt = append(tryIt, b)
		}
	}
	if len(tryIt) == 0 {
		t.Fatal(`README.md: "Try it" has no sh block`)
	}

	for _, file := range docFiles(t) {
		if file == "BENCHMARKS.md" {
			continue
		}
		t.Run(file, func(t *testing.T) {
			blocks, _ := mdParse(readRepoFile(t, file))
			var run int
			for _, b := range blocks {
				if b.lang == "json" {
					if !json.Valid([]byte(b.text)) {
						t.Errorf("%s:%d: the json block does not parse", file, b.line)
					}
				}
				if b.lang == "sh" && strings.Contains(b.text, "curl ") && strings.Contains(b.text, "localhost:8080") {
					run++
				}
			}
			if run == 0 && file != "README.md" {
				return
			}
			in := servicetest.Start(t, map[string]string{"GOODWILL_BOOTSTRAP_KEY": exampleKey}, service.Options{})
			sh := &exampleShell{t: t, base: in.URL, vars: map[string]string{"KEY": exampleKey}}
			if file != "README.md" {
				for _, b := range tryIt {
					sh.run("README.md", b)
				}
			}
			for _, b := range blocks {
				if b.lang == "sh" {
					sh.run(file, b)
				}
			}
			if sh.ran == 0 {
				t.Errorf("%s: no curl example ran", file)
			}
		})
	}
}

// exampleShell runs the curl commands of sh blocks: enough of the shell for the
// documentation (quotes, $VAR, NAME=value, line continuations, comments); any other
// command is left alone. A <name> in a URL is the "name" field of the last answer
// that had one (DELETE /v1/keys/<id> after POST /v1/keys), and $key the "key" of the
// last answer that had one (the secret of a key just created).
type exampleShell struct {
	t    *testing.T
	base string
	vars map[string]string
	ran  int
}

func (sh *exampleShell) run(file string, b mdBlock) {
	t := sh.t
	t.Helper()
	for _, cmd := range sh.commands(b.text) {
		where := file + ":" + itoa(b.line)
		if len(cmd) == 1 && strings.Contains(cmd[0], "=") && !strings.HasPrefix(cmd[0], "-") {
			name, value, _ := strings.Cut(cmd[0], "=")
			sh.vars[name] = value
			continue
		}
		if len(cmd) == 0 || cmd[0] != "curl" {
			continue
		}
		method, target, body := "", "", ""
		hasBody := false
		header := http.Header{}
		for i := 1; i < len(cmd); i++ {
			arg := cmd[i]
			switch {
			case arg == "-s":
			case (arg == "-X" || arg == "-H" || arg == "-d") && i+1 < len(cmd):
				i++
				switch arg {
				case "-X":
					method = cmd[i]
				case "-H":
					k, v, _ := strings.Cut(cmd[i], ":")
					header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
				case "-d":
					body, hasBody = cmd[i], true
				}
			case strings.HasPrefix(arg, "-"):
				t.Errorf("%s: curl option %s is not one the examples' runner knows", where, arg)
				return
			default:
				target = arg
			}
		}
		rest, local := strings.CutPrefix(strings.TrimPrefix(target, "http://"), "localhost:8080")
		if !local {
			continue // another system's API (the ATS's): not ours to call
		}
		rest = examplePlaceholder.ReplaceAllStringFunc(rest, func(p string) string {
			v, ok := sh.vars[p[1:len(p)-1]]
			if !ok {
				t.Errorf("%s: %s: no earlier answer gave %s", where, target, p)
			}
			return v
		})
		if method == "" {
			method = http.MethodGet
			if hasBody {
				method = http.MethodPost
			}
		}
		var rd io.Reader
		if hasBody {
			if header.Get("Content-Type") == "" {
				header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
			}
		}
		// A read may come before the projector has applied the writes before it: the
		// documentation promises derived state within a second, so a read is tried
		// again for up to 3 s, as a person typing the next command would be later.
		var status int
		var answer []byte
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if hasBody {
				rd = strings.NewReader(body)
			}
			req, err := http.NewRequest(method, sh.base+rest, rd)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", where, method, target, err)
			}
			req.Header = header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", where, method, target, err)
			}
			answer, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
			if status/100 == 2 || method != http.MethodGet || time.Now().After(deadline) {
				break
			}
		}
		sh.ran++
		if status/100 != 2 {
			t.Errorf("%s: %s %s: %d %s", where, method, target, status, answer)
			continue
		}
		var fields map[string]any
		if json.Unmarshal(answer, &fields) == nil {
			for k, v := range fields {
				if s, ok := v.(string); ok && slices.Contains([]string{"id", "key"}, k) {
					sh.vars[k] = s
				}
			}
		}
	}
}

var examplePlaceholder = regexp.MustCompile(`<[a-z_]+>`)

// commands splits a sh block into commands of words.
func (sh *exampleShell) commands(text string) [][]string {
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	endWord := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			cmds = append(cmds, words)
			words = nil
		}
	}
	expand := func(s string, i int) (string, int) { // $NAME at s[i]
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		return sh.vars[s[i+1:j]], j
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\\' && i+1 < len(text) && text[i+1] == '\n':
			endWord()
			i += 2
		case c == '\n' || c == ';':
			endCmd()
			i++
		case c == ' ' || c == '\t':
			endWord()
			i++
		case c == '#' && !inWord:
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '\'':
			j := strings.IndexByte(text[i+1:], '\'')
			if j < 0 {
				j = len(text) - i - 1
			}
			word.WriteString(text[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			inWord = true
			i++
			for i < len(text) && text[i] != '"' {
				if text[i] == '$' {
					v, j := expand(text, i)
					word.WriteString(v)
					i = j
					continue
				}
				word.WriteByte(text[i])
				i++
			}
			i++
		case c == '$':
			v, j := expand(text, i)
			word.WriteString(v)
			inWord = true
			i = j
		default:
			word.WriteByte(c)
			inWord = true
			i++
		}
	}
	endCmd()
	return cmds
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
