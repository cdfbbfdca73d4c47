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

package handler

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/backends/sqlite"
	"github.com/FerretDB/FerretDB/internal/handler/handlererrors"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
	"github.com/FerretDB/FerretDB/internal/util/must"
	"github.com/FerretDB/FerretDB/internal/util/state"
	"github.com/FerretDB/FerretDB/internal/util/testutil"
)

// countingCollection is a real SQLite collection that counts the InsertAll calls
// (each one transaction) reaching it.
type countingCollection struct {
	backends.Collection
	calls int
}

func (c *countingCollection) InsertAll(ctx context.Context, params *backends.InsertAllParams) (*backends.InsertAllResult, error) {
	c.calls++
	return c.Collection.InsertAll(ctx, params)
}

// TestInsertBisected checks that a batch failing on duplicate _ids inserts every other
// document, reports each duplicate at its index, stops at the first one when ordered,
// and takes a few transactions per duplicate rather than one per document.
func TestInsertBisected(t *testing.T) {
	t.Parallel()

	ids := func(from, to int) []int32 {
		var out []int32
		for i := from; i < to; i++ {
			out = append(out, int32(i))
		}
		return out
	}

	for name, tc := range map[string]struct {
		stored    []int32 // _ids in the collection before the insert
		docs      []int32 // _ids of the batch
		ordered   bool
		inserted  int32
		errs      []int // indexes of the duplicates reported
		maxCalls  int
		wantAfter int // documents in the collection after
	}{
		"NoDuplicate": {
			docs: ids(0, 500), inserted: 500, maxCalls: 1, wantAfter: 500,
		},
		"OneStored": {
			stored: []int32{250}, docs: ids(0, 500), inserted: 499, errs: []int{250},
			maxCalls: 30, wantAfter: 500,
		},
		"TwiceInTheBatch": {
			docs: append(ids(0, 300), 7), inserted: 300, errs: []int{300}, maxCalls: 30, wantAfter: 300,
		},
		"AllStored": {
			stored: ids(0, 20), docs: ids(0, 20), errs: []int{
				0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
			},
			maxCalls: 30, wantAfter: 20,
		},
		"OrderedStopsAtTheFirst": {
			stored: []int32{100, 300}, docs: ids(0, 500), ordered: true, inserted: 100, errs: []int{100},
			maxCalls: 30, wantAfter: 102,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			ctx := testutil.Ctx(t)

			sp, err := state.NewProvider("")
			require.NoError(t, err)

			b, err := sqlite.NewBackend(&sqlite.NewBackendParams{
				URI: testutil.TestSQLiteURI(t, ""), L: testutil.Logger(t), P: sp, BatchSize: 500,
			})
			require.NoError(t, err)
			t.Cleanup(b.Close)

			db, err := b.Database(testutil.DatabaseName(t))
			require.NoError(t, err)

			coll, err := db.Collection(testutil.CollectionName(t))
			require.NoError(t, err)

			docs := func(ids []int32) []*types.Document {
				out := make([]*types.Document, len(ids))
				for i, id := range ids {
					out[i] = must.NotFail(types.NewDocument("_id", id))
				}
				return out
			}

			if len(tc.stored) > 0 {
				_, err = coll.InsertAll(ctx, &backends.InsertAllParams{Docs: docs(tc.stored)})
				require.NoError(t, err)
			}

			idx := make([]int, len(tc.docs))
			for i := range idx {
				idx[i] = i
			}

			counted := &countingCollection{Collection: coll}
			inserted, wes, err := insertBisected(ctx, counted, docs(tc.docs), idx, tc.ordered)
			require.NoError(t, err)

			assert.Equal(t, tc.inserted, inserted)

			var errs []int
			for _, we := range wes {
				assert.Equal(t, int(handlererrors.ErrDuplicateKeyInsert), we.Code)
				errs = append(errs, we.Index)
			}
			assert.Equal(t, tc.errs, errs)
			assert.LessOrEqual(t, counted.calls, tc.maxCalls, "InsertAll calls")

			res, err := coll.Query(ctx, nil)
			require.NoError(t, err)
			all, err := iterator.ConsumeValues[struct{}, *types.Document](res.Iter)
			require.NoError(t, err)
			assert.Len(t, all, tc.wantAfter)
		})
	}
}
