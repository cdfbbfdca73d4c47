// Copyright 2021 FerretDB Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package registry

import (
	"encoding/json"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/exp/maps"
)

// deps returns the packages imported, directly or not, by embedded FerretDB
// when built with the given Go build tags.
func deps(t *testing.T, tags ...string) []string {
	t.Helper()

	type list struct {
		Deps []string `json:"Deps"`
	}

	args := []string{"list", "-json"}
	for _, tag := range tags {
		args = append(args, "-tags", tag)
	}

	var res list
	b, err := exec.Command("go", append(args, "../../../ferretdb")...).Output()
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &res))

	return res.Deps
}

// negTagPackages returns packages that are NOT imported by FerretDB when the
// given Go build negative tag is provided. Eg of negative tags
// 'ferretdb_no_sqlite'.
func negTagPackages(t *testing.T, negTag string) []string {
	t.Helper()

	packages := make(map[string]struct{})

	for _, p := range deps(t) {
		packages[p] = struct{}{}
	}

	for _, p := range deps(t, negTag) {
		delete(packages, p)
	}

	return maps.Keys(packages)
}

// TestDeps ensures that some packages are imported
// only when the corresponding backend handler is enabled via Go build tag,
// and that the removed backends and their drivers are not imported at all.
func TestDeps(t *testing.T) {
	t.Parallel()

	t.Run("NoRemovedBackends", func(t *testing.T) {
		t.Parallel()

		for _, p := range deps(t) {
			for _, removed := range []string{
				"github.com/FerretDB/FerretDB/internal/backends/postgresql",
				"github.com/FerretDB/FerretDB/internal/backends/mysql",
				"github.com/FerretDB/FerretDB/internal/backends/hana",
				"github.com/jackc/pgx/v5",
				"github.com/go-sql-driver/mysql",
				"github.com/SAP/go-hdb/driver",
			} {
				assert.NotEqual(t, removed, p)
			}
		}
	})

	t.Run("NoSqlite", func(t *testing.T) {
		t.Parallel()

		diff := negTagPackages(t, "ferretdb_no_sqlite")
		assert.Contains(t, diff, "github.com/FerretDB/FerretDB/internal/backends/sqlite")
		assert.Contains(t, diff, "modernc.org/sqlite")
	})
}
