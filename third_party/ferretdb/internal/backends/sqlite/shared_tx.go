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

package sqlite

import (
	"context"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/util/fsql"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

// sharedState is the sqlite backend's part of a backends.SharedTx.
type sharedState struct {
	tx *fsql.Tx

	// colls holds the metadata of the collections used in tx, read before it began.
	// While tx is open, the collection's metadata is not read from the registry
	// again: the registry changes a collection (creating, dropping, indexing it) while
	// holding its lock and waiting for the database's write lock, which tx holds, so
	// asking it would make each wait for the other until busy_timeout.
	colls map[string]*metadata.Collection
}

// shared returns the transaction on db shared by the operations of ctx's command (see
// backends.SharedTx) and c's metadata, beginning the transaction if needed. It
// returns a nil transaction if the operations share none, share one on another
// database, or c does not exist; then the caller reads c's metadata itself.
func (c *collection) shared(ctx context.Context, db *fsql.DB) (*fsql.Tx, *metadata.Collection, error) {
	stx := backends.SharedTxFrom(ctx)
	if stx == nil {
		return nil, nil, nil
	}

	if stx.Owner != nil {
		if stx.Owner != db {
			return nil, nil, nil
		}

		st := stx.Tx.(*sharedState)

		meta := st.colls[c.name]
		if meta == nil {
			return nil, nil, lazyerrors.Errorf("collection %q is not part of the shared transaction", c.name)
		}

		return st.tx, meta, nil
	}

	meta := c.r.CollectionGet(ctx, c.dbName, c.name)
	if meta == nil {
		return nil, nil, nil
	}

	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, nil, lazyerrors.Error(err)
	}

	stx.Owner = db
	stx.Tx = &sharedState{tx: tx, colls: map[string]*metadata.Collection{c.name: meta}}
	stx.Commit = tx.Commit
	stx.Rollback = tx.Rollback

	return tx, meta, nil
}

// inSavepoint runs f in tx inside a savepoint, so that f's changes are kept or undone
// together, as in a transaction of its own.
func inSavepoint(ctx context.Context, tx *fsql.Tx, f func(*fsql.Tx) error) error {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
		return lazyerrors.Error(err)
	}

	if err := f(tx); err != nil {
		// do not wrap f's error because the caller depends on it in some cases
		_, _ = tx.ExecContext(ctx, "ROLLBACK TO op")
		_, _ = tx.ExecContext(ctx, "RELEASE op")

		return err
	}

	if _, err := tx.ExecContext(ctx, "RELEASE op"); err != nil {
		return lazyerrors.Error(err)
	}

	return nil
}
