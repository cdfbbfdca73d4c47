package storage

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestSQLiteURLPragmas checks the pragmas the embedded store opens SQLite with: a
// commit survives the process being killed (WAL, synchronous=NORMAL), erased data does
// not linger in free pages (secure_delete), and statement journals stay in memory
// (temp_store), where a multi-row insert's would otherwise cost a temporary file's
// writes.
func TestSQLiteURLPragmas(t *testing.T) {
	u := sqliteURL("/data/goodwill")
	_, query, ok := strings.Cut(u, "?")
	if !ok || !strings.HasPrefix(u, "file:/data/goodwill/") {
		t.Fatalf("sqliteURL = %q: want file:<dir>/?<pragmas>", u)
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"synchronous(NORMAL)", "secure_delete(on)", "temp_store(memory)"} {
		if !slices.Contains(values["_pragma"], want) {
			t.Errorf("sqliteURL = %q: no _pragma=%s", u, want)
		}
	}
}
