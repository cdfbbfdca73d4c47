package alerts

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The channels (alerts/twilio, alerts/email, …) import this package for the failure
// taxonomy; the pipeline never imports a channel.
func TestPipelineImportsNoChannel(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/goodwillhq/goodwill/alerts/") {
				t.Errorf("%s imports the channel %s", name, path)
			}
		}
	}
}
