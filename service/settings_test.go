package service_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goodwillhq/goodwill/service"
)

var updateSettings = flag.Bool("update-settings", false, "rewrite settings.json from service.Settings")

// settingsFile is service.Settings as JSON, for the deployment tests (a module of
// their own) and other tools.
const settingsFile = "settings.json"

// TestSettingsAreWhatLoadConfigReads: every variable LoadConfig asks for is listed
// once in Settings, and every listed one is asked for.
func TestSettingsAreWhatLoadConfigReads(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range service.Settings {
		if listed[s.Name] {
			t.Errorf("%s is listed twice", s.Name)
		}
		listed[s.Name] = true
	}
	read := map[string]bool{}
	for _, env := range []map[string]string{
		// Nothing set.
		{},
		// Every channel configured, so that no branch is skipped.
		{
			"TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 32), "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+14155550100",
			"GOODWILL_SMTP_URL": "smtp://mail.example.com:587", "GOODWILL_EMAIL_FROM": "gw@example.com",
			"GOODWILL_PUBLIC_URL": "https://goodwill.example.com",
		},
	} {
		if _, err := service.LoadConfig(func(name string) string {
			read[name] = true
			return env[name]
		}); err != nil {
			t.Fatalf("LoadConfig(%v): %v", env, err)
		}
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(listed)), slices.Sorted(maps.Keys(read))); diff != "" {
		t.Errorf("Settings (-) and the variables LoadConfig reads (+) differ:\n%s", diff)
	}
}

// TestSettingsFile: settings.json is service.Settings; go test -run TestSettingsFile
// -update-settings rewrites it.
func TestSettingsFile(t *testing.T) {
	want, err := json.MarshalIndent(service.Settings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	if *updateSettings {
		if err := os.WriteFile(settingsFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(settingsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not service.Settings; run go test ./service -run TestSettingsFile -update-settings", settingsFile)
	}
}

// TestConfigurationDocListsEverySetting: the Configuration table of
// docs/configuration.md has a row for every setting, showing its default, and the
// README's summary table shows the defaults of the settings it names.
func TestConfigurationDocListsEverySetting(t *testing.T) {
	rows := configRows(t, "../docs/configuration.md", "# Configuration")
	for _, s := range service.Settings {
		row := settingRow(rows, s.Name)
		switch {
		case row == nil:
			t.Errorf("docs/configuration.md: no row of the Configuration table names %s", s.Name)
		case s.Default != "" && row[1] != "`"+s.Default+"`":
			t.Errorf("docs/configuration.md: the row of %s shows the default %s, want `%s`", s.Name, row[1], s.Default)
		}
	}

	summary := configRows(t, "../README.md", "## Configuration")
	if len(summary) == 0 {
		t.Fatal("README.md: the Configuration section has no table")
	}
	for _, row := range summary {
		s, ok := settingNamed(row)
		if !ok {
			t.Errorf("README.md: the Configuration summary names %s, which is no setting", row[0])
			continue
		}
		if s.Default != "" && row[1] != "`"+s.Default+"`" {
			t.Errorf("README.md: the row of %s shows the default %s, want `%s`", s.Name, row[1], s.Default)
		}
	}
}

// configRows returns the cells of the table rows (those naming a variable) of the
// section of file headed heading, up to the next heading of the same level.
func configRows(t *testing.T, file, heading string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := "\n" + string(b)
	_, section, ok := strings.Cut(text, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", file, heading)
	}
	level, _, _ := strings.Cut(heading, " ")
	section, _, _ = strings.Cut(section, "\n"+level+" ")
	var rows [][]string
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// settingNamed returns a setting a summary row names, as itself or as a member of
// the family the row names.
func settingNamed(row []string) (service.Setting, bool) {
	for _, s := range service.Settings {
		if settingRow([][]string{row}, s.Name) != nil {
			return s, true
		}
	}
	return service.Setting{}, false
}

// settingRow returns the row naming name in its first cell: as itself, or as a
// family (GOODWILL_WEBHOOK_SECRET_<SOURCE>, OTEL_*) whose row names the rest.
func settingRow(rows [][]string, name string) []string {
	for _, row := range rows {
		if len(row) < 3 {
			continue
		}
		cells := strings.Split(row[0], "`")
		for i := 1; i < len(cells); i += 2 {
			tok := cells[i]
			if tok == name {
				return row
			}
			prefix, _, family := strings.Cut(strings.ReplaceAll(tok, "*", "<"), "<")
			line := strings.Join(row, " | ")
			if family && strings.HasPrefix(name, prefix) &&
				(strings.Contains(line, "`"+name+"`") || strings.Contains(line, "`"+strings.TrimPrefix(name, prefix)+"`")) {
				return row
			}
		}
	}
	return nil
}
